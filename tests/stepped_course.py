"""A tiny course on disk with one exercise of every type, for testing the notebooks of
exercise types the real content may not have yet (iterative, sequential)."""

from __future__ import annotations

from pathlib import Path

LESSON = "01-test-chapter/01-every-type"

FILES = {
    "chapters/01-test-chapter/chapter.toml": 'title = "Test chapter"\nsummary = "Every exercise type."\n',
    f"chapters/{LESSON}/lesson.toml": '''title = "Every exercise type"
objective = "Show each exercise type in a notebook."

[video]
title = "Every type"
script = """
The first paragraph introduces the lesson.

The second paragraph goes with the first slide.
"""

[[video.slides]]
title = "One slide"
[[video.slides.steps]]
bullet = "A bullet"
[[video.slides.steps]]
code = "x = 1"
''',
    f"chapters/{LESSON}/pre_exercise.py": "base = 10\n",
    # coding
    f"chapters/{LESSON}/01-add.toml": """title = "Add"
type = "coding"
context = "`base` is ready."
instructions = ["Set `total` to `base` plus 5."]
hints = ["Use +.", "total = base + 5"]
success = "Added."
""",
    f"chapters/{LESSON}/01-add.py": "total = base + ____\nprint(total)\n",
    "solutions/{L}/01-add.py": "total = base + 5\nprint(total)\n",
    "graders/{L}/01-add.py": """from graders.sct import SCT, variable, wrong
sct = SCT(variable("total").equals())
cases = [wrong("adds 6", replace={"+ 5": "+ 6"}, says="total")]
""",
    # multiple choice
    f"chapters/{LESSON}/02-pick.toml": """title = "Pick"
type = "multiple_choice"
context = "Which number is even?"
options = ["3", "4"]
instructions = ["Set `answer` to 1 or 2."]
hints = ["Divisible by two."]
success = "Yes."
""",
    f"chapters/{LESSON}/02-pick.py": "answer = ____\n",
    "solutions/{L}/02-pick.py": "answer = 2\n",
    "graders/{L}/02-pick.py": """from graders.sct import SCT, multiple_choice, wrong
sct = SCT(multiple_choice({1: "Three is odd."}))
cases = [wrong("picks 3", replace={"answer = 2": "answer = 1"}, says="Three is odd")]
""",
    # iterative: the same code, refined step by step
    f"chapters/{LESSON}/03-grow.toml": """title = "Grow"
type = "iterative"
context = "Grow a list."

[[steps]]
instructions = ["Make `items` a list of 2 zeros."]
hints = ["[0] * 2"]
success = "Two."

[[steps]]
instructions = ["Now make it 3 zeros."]
hints = ["[0] * 3"]
success = "Three."
""",
    f"chapters/{LESSON}/03-grow.step1.py": "items = [0] * ____\n",
    f"chapters/{LESSON}/03-grow.step2.py": "items = [0] * ____\n",
    "solutions/{L}/03-grow.step1.py": "items = [0] * 2\n",
    "solutions/{L}/03-grow.step2.py": "items = [0] * 3\n",
    "graders/{L}/03-grow.py": """from graders.sct import SCT, variable, wrong
steps = [SCT(variable("items").equals()), SCT(variable("items").equals())]
cases = [wrong("one zero", replace={"* 2": "* 1"}, says="items", step=1),
         wrong("two zeros", replace={"* 3": "* 2"}, says="items", step=2)]
""",
    # sequential: step 2 starts from step 1's solution
    f"chapters/{LESSON}/04-chain.toml": """title = "Chain"
type = "sequential"
context = "Build on the last step."

[[steps]]
instructions = ["Set `a` to 3."]
hints = ["a = 3"]
success = "a is set."

[[steps]]
instructions = ["Set `b` to `a` times 2."]
hints = ["b = a * 2"]
success = "b is set."
""",
    f"chapters/{LESSON}/04-chain.step1.py": "a = ____\n",
    f"chapters/{LESSON}/04-chain.step2.py": "b = a * ____\n",
    "solutions/{L}/04-chain.step1.py": "a = 3\n",
    "solutions/{L}/04-chain.step2.py": "b = a * 2\n",
    "graders/{L}/04-chain.py": """from graders.sct import SCT, variable, wrong
steps = [SCT(variable("a").equals()), SCT(variable("b").equals())]
cases = [wrong("a is 4", replace={"a = 3": "a = 4"}, says="a", step=1),
         wrong("b is a times 3", replace={"* 2": "* 3"}, says="b", step=2)]
""",
}


def write(root: Path) -> Path:
    for rel, text in FILES.items():
        path = root / rel.replace("{L}", LESSON)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
