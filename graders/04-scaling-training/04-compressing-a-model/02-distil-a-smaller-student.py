"""SCT for 4.4.2, Distil a smaller student."""
from graders.sct import SCT, SOLUTION, compressed, distillation_loss, right, wrong

sct = SCT(
    distillation_loss("distillation_loss", temperature=4.0),
    compressed(None, original="teacher").original_without_gradients(msg=(
        "The teacher's parameters got gradients: its logits were computed with a graph, and backward went "
        "through it. Compute teacher(x) inside torch.no_grad(): only the student learns.")).original_unchanged(
        msg="The teacher's weights changed: only the student's parameters belong in the optimizer."),
    compressed(None, model="student", original="teacher").agreement(SOLUTION, tolerance=0.03, msg=(
        "After training, the student agrees with the teacher on {got} of the test images, less than it should "
        "({expected}): train the student with the combined loss over all the batches.")),
)

cases = [
    wrong("forgets the T * T factor", replace={'reduction="batchmean") * T * T': 'reduction="batchmean")'},
          says="multiply the KL divergence by T * T"),
    wrong("keeps the default mean reduction", replace={'reduction="batchmean")': 'reduction="mean")'},
          says='use reduction="batchmean"'),
    wrong("gives the student's probabilities instead of log-probabilities",
          replace={"F.log_softmax(student_logits / T, dim=1)": "F.softmax(student_logits / T, dim=1)"},
          says="log-probabilities first"),
    wrong("lets gradients flow into the teacher",
          replace={"    with torch.no_grad():\n        teacher_logits = teacher(x)\n": "    teacher_logits = teacher(x)\n"},
          says="Compute teacher(x) inside torch.no_grad()"),
    right("squares the temperature with **", replace={"* T * T": "* T ** 2"}),
]
