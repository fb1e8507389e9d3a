"""Common mistakes in assignment 4 (LeNet-5 and its training loop), graded by the real nbgrader.

Each mistake is the instructor's solution of one cell with a small edit, so the wrong answer
differs from the right one exactly where students slip. The accuracy item (one epoch, seed 0,
threshold 75%) measured: solution 86.1%, softmax output 79.5% and no padding 84.4% (both pass
it), ReLU after fc3 53.4%, no ``zero_grad`` and NLL on logits 10.0% (all three fail it)."""

from __future__ import annotations

from variants import Mistake, SolutionEditor

ASSIGNMENT = "a4_lenet5"
NOTEBOOK = "lenet5"


_editor = SolutionEditor(ASSIGNMENT, NOTEBOOK)
_solution, _edit = _editor.solution, _editor.edit


USES_FIT = '''from utils.training import fit


def train_lenet5(model, x, y, epochs=1, batch_size=100, lr=3e-3, seed=0):
    """Delegates to the lectures' helper (forbidden) and returns its per-epoch losses."""
    history = fit(model, (x, y), epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                  schedule="constant", device=next(model.parameters()).device, progress=False)
    return history["train_loss"]
'''

MISTAKES = [
    # --- LeNet5 ---
    Mistake("relu_after_last_layer",
            _edit("LeNet5", ("return self.fc3(x)", "return F.relu(self.fc3(x))")),
            loses=("test_LeNet5_logits", "test_LeNet5_forward_hidden", "test_accuracy"),
            feedback="is there a ReLU after the last layer?"),
    Mistake("softmax_output",
            _edit("LeNet5", ("return self.fc3(x)", "return self.fc3(x).softmax(dim=1)")),
            loses=("test_LeNet5_logits", "test_LeNet5_forward_hidden"),
            feedback="forward returns softmax probabilities"),
    Mistake("conv1_without_padding",  # fc1 resized to 16*4*4 so that the network still runs
            _edit("LeNet5", ("nn.Conv2d(1, 6, kernel_size=5, padding=2)", "nn.Conv2d(1, 6, kernel_size=5)"),
                  ("nn.Linear(16 * 5 * 5, 120)", "nn.Linear(16 * 4 * 4, 120)")),
            loses=("test_LeNet5_params", "test_LeNet5_forward_hidden"),
            feedback="without padding=2 on conv1"),
    Mistake("wrong_fc1_inputs",
            _edit("LeNet5", ("nn.Linear(16 * 5 * 5, 120)", "nn.Linear(16 * 4 * 4, 120)")),
            loses=("test_LeNet5_shapes", "test_LeNet5_shapes_hidden", "test_LeNet5_params",
                   "test_LeNet5_logits", "test_LeNet5_forward_hidden", "test_accuracy"),
            feedback="fc1 takes 16 * 5 * 5 = 400 inputs"),
    Mistake("no_zero_grad",
            _edit("train_lenet5", ("            optimizer.zero_grad()\n", "")),
            loses=("test_train_zero_grad", "test_accuracy"),
            feedback="call optimizer.zero_grad() in every step"),
    Mistake("no_shuffling",
            _edit("train_lenet5", ("torch.randperm(len(x), generator=generator)",
                                   "torch.arange(len(x))")),
            loses=("test_train_batches",),
            feedback="the examples come in their stored order"),
    Mistake("nll_loss_on_logits",
            _edit("train_lenet5", ("F.cross_entropy(model(xb), yb)", "F.nll_loss(model(xb), yb)")),
            loses=("test_train_loss", "test_accuracy"),
            feedback="is not the mean cross-entropy of the batch"),
    Mistake("no_train_mode",
            _edit("train_lenet5", ("    model.train()\n", "")),
            loses=("test_train_mode",),
            feedback="the model ran in evaluation mode during training"),
    Mistake("delegates_to_fit", {"train_lenet5": USES_FIT},
            loses=("test_train_returns", "test_train_hidden"),
            feedback="must return a list with the loss of every batch"),
]
