"""Common mistakes in assignment 5 (transfer learning), graded by the real nbgrader.

Each mistake is the instructor's solution of one function with a small edit. The transfer items
compare, on seeded data, the frozen pretrained backbone + a new head with a network trained from
scratch on the same 25 images and budget; they need a 3-point lead and an unchanged backbone.
Measured (visible item / hidden item, accuracy on the 5,000 target test images):

- solution 84.5% / 84.8% against scratch 74.8% / 78.1% (so 77.8% / 81.1% are needed);
- the freezing mistakes that leave backbone parameters trainable fail on the exact check that the
  backbone did not change; the other mistakes below train exactly like the solution (same
  numbers), except SGD: 43.6% / 67.5%.

Left out because their transfer result lies within about 3 points of the bar, so rounding on
another machine could flip it: the old head with only ``out_features`` changed (81.8% / 81.8%),
a new last layer on the pretrained hidden layer (83.7% / 83.8%), the default learning rate
(83.1% / 82.6%), optimising only the last layer (68.9% / 77.9%)."""

from __future__ import annotations

from variants import Mistake, SolutionEditor

ASSIGNMENT = "a5_transfer"
NOTEBOOK = "transfer"


_editor = SolutionEditor(ASSIGNMENT, NOTEBOOK)
_solution, _edit = _editor.solution, _editor.edit


FREEZE_LOOP = ("    for parameter in model.backbone.parameters():\n"
               "        parameter.requires_grad_(False)\n")
FREEZE = ("test_freeze_backbone", "test_freeze_backbone_hidden")
REPLACE = ("test_replace_head", "test_replace_head_hidden")
HEAD_OPT = ("test_head_optimizer", "test_head_optimizer_hidden")
TRANSFER = ("test_transfer", "test_transfer_hidden")
FINETUNE = ("test_finetune_optimizer", "test_finetune_optimizer_hidden")
TRAINABLE = "[p for p in model.parameters() if p.requires_grad]"

MISTAKES = [
    # --- freeze_backbone ---
    Mistake("forgot_to_freeze", _edit("freeze_backbone", (FREEZE_LOOP, "")),
            loses=FREEZE + TRANSFER, feedback="backbone parameters still trainable"),
    Mistake("module_attribute_instead_of_parameters",
            _edit("freeze_backbone", (FREEZE_LOOP, "    model.backbone.requires_grad = False\n")),
            loses=FREEZE + TRANSFER, feedback="only sets an unused attribute"),
    Mistake("freezes_head_too",
            _edit("freeze_backbone", ("model.backbone.parameters()", "model.parameters()")),
            loses=FREEZE, feedback="freeze_backbone froze head parameters"),
    Mistake("freezes_weights_only",
            _edit("freeze_backbone", (FREEZE_LOOP,
                                      "    for module in model.backbone:\n"
                                      "        if hasattr(module, 'weight'):\n"
                                      "            module.weight.requires_grad_(False)\n")),
            loses=FREEZE + TRANSFER, feedback="backbone parameters still trainable"),
    # --- replace_head ---
    Mistake("five_classes_hard_coded",
            _edit("replace_head", ("nn.Linear(hidden, num_classes)", "nn.Linear(hidden, 5)")),
            loses=REPLACE, feedback="the last layer of the new head needs num_classes outputs"),
    Mistake("feature_size_hard_coded",  # right for SmallCNN, wrong for other backbones
            _edit("replace_head", ("nn.Linear(features, hidden)", "nn.Linear(288, hidden)")),
            loses=("test_replace_head_hidden",)),
    Mistake("softmax_head",
            _edit("replace_head", ("nn.Linear(hidden, num_classes))",
                                   "nn.Linear(hidden, num_classes), nn.Softmax(dim=1))")),
            loses=REPLACE, feedback="the new head returns probabilities"),
    Mistake("optimizes_frozen_parameters",
            _edit("head_optimizer", (TRAINABLE, "model.parameters()")),
            loses=HEAD_OPT, feedback="passes the frozen backbone"),
    Mistake("sgd_instead_of_adam",
            _edit("head_optimizer", ("torch.optim.Adam(", "torch.optim.SGD(")),
            loses=HEAD_OPT + TRANSFER, feedback="must return a torch.optim.Adam"),
    Mistake("head_hard_coded",  # right when exactly the head is trainable, wrong otherwise
            _edit("head_optimizer", (TRAINABLE, "model.head.parameters()")),
            loses=("test_head_optimizer_hidden",)),
    # --- finetune_optimizer ---
    Mistake("backbone_stays_frozen",
            _edit("finetune_optimizer", (FREEZE_LOOP.replace("False", "True"), "")),
            loses=FINETUNE, feedback="these parameters are still frozen"),
    Mistake("swapped_learning_rates",
            _edit("finetune_optimizer",
                  ('head.parameters()), "lr": head_lr', 'head.parameters()), "lr": backbone_lr'),
                  ('backbone.parameters()), "lr": backbone_lr', 'backbone.parameters()), "lr": head_lr')),
            loses=FINETUNE, feedback="check that the two are not swapped"),
    Mistake("parameter_in_two_groups",
            _edit("finetune_optimizer", ("list(model.backbone.parameters())",
                                         "list(model.parameters())")),
            loses=FINETUNE, feedback="Put each parameter in exactly one group"),
]
