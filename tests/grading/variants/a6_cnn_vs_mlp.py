"""Common mistakes in assignment 6 (a CNN against an MLP), graded by the real nbgrader.

Each mistake is the instructor's solution of one cell with a small edit. Three or more per graded
function: the CNN without batch norm, without padding, without its ReLUs, with a wrong flatten
size; the MLP with wrong hidden sizes, without ReLUs, without flattening; ``train`` without
``zero_grad``, without ``model.train()``, without shuffling, with a summed loss; ``evaluate``
without ``model.eval()``, with a transposed matrix, with a percentage.
"""

from __future__ import annotations

from variants import Mistake, SolutionEditor

ASSIGNMENT = "a6_cnn_vs_mlp"
NOTEBOOK = "cnn_vs_mlp"

_edit = SolutionEditor(ASSIGNMENT, NOTEBOOK).edit

MISTAKES = [
    # --- build_cnn ---
    Mistake("cnn_without_batchnorm",
            _edit("build_cnn", ("nn.BatchNorm2d(32), ", ""), ("nn.BatchNorm2d(64), ", "")),
            loses=("test_cnn_params", "test_cnn_forward_hidden", "test_accuracy"),
            feedback="is a BatchNorm2d missing"),
    Mistake("cnn_without_padding",
            _edit("build_cnn", ("nn.Conv2d(in_channels, 32, 3, padding=1)", "nn.Conv2d(in_channels, 32, 3)"),
                  ("nn.Conv2d(32, 64, 3, padding=1)", "nn.Conv2d(32, 64, 3)")),
            loses=("test_cnn_shapes", "test_cnn_forward_hidden", "test_accuracy"),
            feedback="Check padding=1 on both convolutions"),
    Mistake("cnn_without_relu",
            _edit("build_cnn", ("nn.BatchNorm2d(32), nn.ReLU(), ", "nn.BatchNorm2d(32), "),
                  ("nn.BatchNorm2d(64), nn.ReLU(), ", "nn.BatchNorm2d(64), ")),
            loses=("test_cnn_forward_hidden", "test_accuracy"),
            feedback="forward pass in evaluation mode differs from the specification"),
    Mistake("cnn_wrong_flatten_size",
            _edit("build_cnn", ("nn.Linear(64 * 8 * 8, 256)", "nn.Linear(64 * 16 * 16, 256)")),
            loses=("test_cnn_shapes", "test_cnn_params", "test_cnn_forward_hidden", "test_accuracy"),
            feedback="the first Linear takes 64 * 8 * 8 inputs"),
    # --- build_mlp ---
    Mistake("mlp_wrong_hidden_sizes",
            _edit("build_mlp", ("nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes)",
                                "nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, num_classes)")),
            loses=("test_mlp_params", "test_mlp_forward_hidden", "test_accuracy"),
            feedback="the hidden layers have 256 and 128 units"),
    Mistake("mlp_without_relu",
            _edit("build_mlp", ("nn.Linear(in_features, 256), nn.ReLU(),", "nn.Linear(in_features, 256),"),
                  ("nn.Linear(256, 128), nn.ReLU(),", "nn.Linear(256, 128),")),
            loses=("test_mlp_forward_hidden",),
            feedback="forward pass in evaluation mode differs from the specification"),
    Mistake("mlp_without_flatten",
            _edit("build_mlp", ("nn.Sequential(nn.Flatten(), ", "nn.Sequential(")),
            loses=("test_mlp_shapes", "test_mlp_forward_hidden", "test_accuracy"),
            feedback="Flatten each example first"),
    # --- train ---
    Mistake("train_without_zero_grad",
            _edit("train", ("            optimizer.zero_grad()\n", "")),
            loses=("test_train_zero_grad", "test_train_hidden", "test_accuracy"),
            feedback="call optimizer.zero_grad() in every step"),
    Mistake("train_without_train_mode",
            _edit("train", ("    model.train()\n", "")),
            loses=("test_train_mode",),
            feedback="Call model.train() at the start of train"),
    Mistake("train_without_shuffling",
            _edit("train", ("torch.randperm(len(x), generator=generator)", "torch.arange(len(x))")),
            loses=("test_train_hidden",),
            feedback="two different seeds gave the same run"),
    Mistake("train_summed_loss",
            _edit("train", ("F.cross_entropy(model(xb), yb)",
                            "F.cross_entropy(model(xb), yb, reduction=\"sum\")")),
            loses=("test_train_returns",),
            feedback="is not the mean cross-entropy of the batch"),
    # --- evaluate ---
    Mistake("evaluate_without_eval_mode",
            _edit("evaluate", ("    model.eval()\n", "")),
            loses=("test_evaluate_mode", "test_evaluate_hidden"),
            feedback="call model.eval() before predicting"),
    Mistake("evaluate_transposed_matrix",
            _edit("evaluate", ("(y.cpu(), predicted)", "(predicted, y.cpu())")),
            loses=("test_evaluate", "test_evaluate_hidden"),
            feedback="(is it transposed?)"),
    Mistake("evaluate_percentage",
            _edit("evaluate", (".float().mean().item(), matrix", ".float().mean().item() * 100, matrix")),
            loses=("test_evaluate", "test_evaluate_mode", "test_evaluate_hidden"),
            feedback="a share, not a percentage or a count"),
]
