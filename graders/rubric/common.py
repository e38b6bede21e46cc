"""The rubric's numbers and the helpers its rules share."""

from __future__ import annotations

import io
import re
import tokenize

from course.core.exercises import Exercise, Step

CHAPTERS = (1, 2, 3, 4)
LESSONS_PER_CHAPTER = {1: (3, 3), 2: (3, 4), 3: (3, 4), 4: (3, 4)}
LESSONS = (12, 15)
EXERCISES_PER_LESSON = (2, 4)
MIN_CODING, MAX_MULTIPLE_CHOICE = 2, 1
SCRIPT_WORDS = (400, 600)
OBJECTIVE_WORDS = (10, 60)  # "a clear objective": at least a real sentence, not an essay
BULLET_WORDS = 8  # a slide bullet is a short phrase
CONTEXT_CHARS = (180, 780)
ITEMS = (1, 4)  # instructions and hints
CODE_LINES = 15
COMMENT_CHARS = 60  # a comment is under this many characters, "# " included
# Hints lead, they do not dictate. A fill (the text that replaces a blank to give the
# solution) is given when a hint holds it word for word; fills shorter than FILL_CHARS
# (a digit, a one-letter name) say too little to count.
FILL_CHARS = 3
HINT_FILL_SHARE = 0.2  # course-wide, at most one fill in five appears in a hint
CAPSTONE_FILL_SHARE = 1 / 3  # a capstone's hints give at most a third of its fills
# Multiple choice that cannot be guessed from the form of the options: the right option's
# position varies (each of the first CHOICE_POSITIONS used, none more than MAX_SAME_POSITION
# times), it is the longest in at most MAX_RIGHT_LONGEST questions, and no option stands out
# by length (the longest at most OPTION_LENGTH_RATIO times the shortest; the options before
# issue 18 measured 1.38-3.07, the rewritten ones 1.03-1.11).
CHOICE_POSITIONS, MAX_SAME_POSITION, MAX_RIGHT_LONGEST = 4, 3, 2
OPTION_LENGTH_RATIO = 1.3
# A solution may share at most this share of its lines with its lesson's slides: the slides
# teach the idea on other data or names, and the exercise is still the learner's to write.
MAX_SOLUTION_ON_SLIDES = 0.5

# Words that keep their capitals inside a sentence-case title. Words with a capital after
# their first letter (LightningModule, DataLoader, GPU) and words in backticks are
# recognised as names without being listed.
PROPER_NAMES = frozenset(
    {
        "PyTorch",
        "Lightning",
        "CIFAR-10",
        "CIFAR",
        "ONNX",
        "FastAPI",
        "TorchScript",
        "LSTM",
        "RNN",
        "CNN",
        "GPU",
        "GPUs",
        "CPU",
        "CPUs",
        "torchmetrics",
        "TensorBoard",
        "MLflow",
        "Python",
        "NumPy",
        "CUDA",
        "MPS",
        "Apple",
        "Hugging",
        "Face",
        "Weights",
        "Biases",
        "I",
        "Optuna",
        "SQLite",
        "SLURM",
        "Runtime",  # chapter 4: tools it names in titles
        # Lightning and PyTorch classes whose names are one capitalised word: in a title they
        # name the class, as in the course text ("the `Trainer` runs the loop").
        "Trainer",
        "Tensor",
        "Callback",
        "Fabric",
    }
)


# --- helpers ------------------------------------------------------------------------------


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def allowed_range(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def words(text: str) -> list[str]:
    return text.split()


def step_label(ex: Exercise, step: Step) -> str:
    return f"{ex.id} step {step.number}" if ex.stepped else ex.id


def lines_of(code: str) -> list[str]:
    return code.rstrip().splitlines()


def comments(code: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every comment, in order; strings that hold '#' are not comments."""
    try:
        return [
            (tok.start[0], tok.string)
            for tok in tokenize.generate_tokens(io.StringIO(code).readline)
            if tok.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    # Code that does not tokenize (a scaffold may not): scan each line, skipping quotes.
    found = []
    for number, line in enumerate(code.splitlines(), 1):
        quote = None
        for i, char in enumerate(line):
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "#":
                found.append((number, line[i:].rstrip()))
                break
    return found


_TITLE_WORD = re.compile(r"^[\"'(\[]*(.*?)[\"'),.:;!?\]]*$")


def sentence_case_problems(title: str) -> list[str]:
    """Words that break sentence case: the first word starts with a capital, and no other
    word does unless it is a name (PROPER_NAMES, inner capitals, or in backticks)."""
    problems = []
    # Backticked spans are code: drop them before looking at words.
    words = re.sub(r"`[^`]*`", " CODE ", title).split()
    for i, raw in enumerate(words):
        word = re.sub(r"['’]s$", "", _TITLE_WORD.match(raw).group(1))  # "Lightning's" is the name "Lightning"
        if not word or word == "CODE" or not word[0].isalpha():
            continue
        if i == 0:
            if word[0].islower() and word not in PROPER_NAMES:
                problems.append(f"'{word}' should start with a capital")
            continue
        is_name = word in PROPER_NAMES or any(c.isupper() for c in word[1:])
        if word[0].isupper() and not is_name:
            problems.append(f"'{word}' should be lower case")
    return problems


def clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
