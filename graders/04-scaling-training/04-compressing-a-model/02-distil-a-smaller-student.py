"""SCT for 4.4.2, Distil a smaller student."""

from graders.sct import SCT, SOLUTION, compressed, distillation_loss, right, wrong
from graders.sct.distillation import distillation_mistakes
from graders.sct.observed import predicted

sct = SCT(
    distillation_mistakes("distillation_loss", temperature=4.0),
    distillation_loss("distillation_loss", temperature=4.0),
    compressed(None, original="teacher")
    .original_without_gradients(
        msg=(
            "The teacher's parameters got gradients: its logits were computed with a graph, and backward went "
            "through it. Compute teacher(x) inside torch.no_grad(): only the student learns."
        )
    )
    .original_unchanged(msg="The teacher's weights changed: only the student's parameters belong in the optimizer."),
    predicted(
        "teacher",
        grad=False,
        grad_msg=(
            "The teacher's forward pass built a graph: autograd recorded every operation for a backward pass that never "
            "comes, which costs memory and time on every batch (.detach() afterwards drops the graph only once it is "
            "built). Compute teacher(x) inside torch.no_grad()."
        ),
    ),
    compressed(None, model="student", original="teacher").agreement(
        SOLUTION,
        tolerance=0.03,
        msg=(
            "After training, the student agrees with the teacher on {got} of the test images, less than it should "
            "({expected}): train the student with the combined loss over all the batches."
        ),
    ),
)

cases = [
    wrong(
        "forgets the T * T factor",
        replace={'reduction="batchmean") * T * T': 'reduction="batchmean")'},
        says="multiply the KL divergence by T * T",
    ),
    wrong(
        "keeps the default mean reduction",
        replace={'reduction="batchmean")': 'reduction="mean")'},
        says='use reduction="batchmean"',
    ),
    wrong(
        "gives the student's probabilities instead of log-probabilities",
        replace={"F.log_softmax(student_logits / T, dim=1)": "F.softmax(student_logits / T, dim=1)"},
        says="log-probabilities first",
    ),
    wrong(
        "lets gradients flow into the teacher",
        replace={
            "    with torch.no_grad():\n        teacher_logits = teacher(x)\n": "    teacher_logits = teacher(x)\n"
        },
        says="Compute teacher(x) inside torch.no_grad()",
    ),
    wrong(
        "sums over the batch",
        replace={'reduction="batchmean")': 'reduction="sum")'},
        says='reduction="sum" adds up the divergence of every image',
    ),
    wrong(
        "applies the temperature factor once",
        replace={'reduction="batchmean") * T * T': 'reduction="batchmean") * T'},
        says="multiplied by T once",
    ),
    wrong(
        "doubles the temperature instead of squaring it",
        replace={"* T * T": "* T * 2"},
        says="T * 2 is twice the temperature",
    ),
    wrong(
        "leaves the teacher's logits unsoftened",
        replace={"F.softmax(teacher_logits / T, dim=1)": "F.softmax(teacher_logits, dim=1)"},
        says="The teacher's logits are not softened",
    ),
    wrong(
        "swaps the arguments of kl_div",
        replace={
            "F.kl_div(soft_student, soft_teacher,": "F.kl_div(F.log_softmax(teacher_logits / T, dim=1), "
            "F.softmax(student_logits / T, dim=1),"
        },
        says="The arguments of F.kl_div are swapped",
    ),
    wrong(
        "detaches the teacher's logits after building the graph",
        replace={
            "    with torch.no_grad():\n        teacher_logits = teacher(x)\n": "    teacher_logits = teacher(x).detach()\n"
        },
        says="The teacher's forward pass built a graph",
    ),
    right("squares the temperature with **", replace={"* T * T": "* T ** 2"}),
    right(
        "compares log-probabilities with log_target=True",
        replace={
            "soft_teacher = F.softmax(teacher_logits / T, dim=1)": "soft_teacher = F.log_softmax(teacher_logits / T, dim=1)",
            'reduction="batchmean")': 'reduction="batchmean", log_target=True)',
        },
    ),
]
