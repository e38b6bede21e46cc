"""The ``course`` command: list the exercises, check an answer, and (see --help) more."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from course.exercises import CourseFormatError, load_course

USAGE_ERROR = 2


def _cmd_list(args) -> int:
    course = load_course()
    rows = []
    for chapter in course.chapters:
        for lesson in chapter.lessons:
            rows.append({"id": lesson.video.id, "type": "video", "title": lesson.video.title, "lesson": lesson.id,
                         "lesson_title": lesson.title, "chapter": chapter.id, "chapter_title": chapter.title})
            for ex in lesson.exercises:
                rows.append({"id": ex.id, "type": ex.type, "title": ex.title, "lesson": lesson.id,
                             "lesson_title": lesson.title, "chapter": chapter.id, "chapter_title": chapter.title,
                             "steps": len(ex.steps)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    chapter = lesson = None
    for row in rows:
        if row["chapter"] != chapter:
            chapter = row["chapter"]
            print(f"Chapter {chapter}: {row['chapter_title']}")
        if row["lesson"] != lesson:
            lesson = row["lesson"]
            print(f"  Lesson {lesson}: {row['lesson_title']}")
        steps = f" ({row['steps']} steps)" if row.get("steps", 1) > 1 else ""
        print(f"    {row['id']:<8} {row['type']:<16} {row['title']}{steps}")
    return 0


def _cmd_check(args) -> int:
    course = load_course()
    try:
        exercise = course.exercise(args.id)
        exercise.step(args.step)
    except (KeyError, ValueError) as err:
        print(f"course check: {err.args[0]}", file=sys.stderr)
        return USAGE_ERROR
    path = Path(args.file)
    if not path.is_file():
        print(f"course check: no file {path}", file=sys.stderr)
        return USAGE_ERROR
    from graders.grade import grade  # the engine imports torch: only when checking

    feedback = grade(exercise, path.read_text(), args.step)
    print(feedback.text(color=sys.stdout.isatty()))
    return 0 if feedback.passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="Designing Scalable AI Systems: the course tool.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list every lesson and exercise (ID, type, title)")
    p.add_argument("--json", action="store_true", help="print JSON for tools")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("check", help="grade a file of your code for one exercise")
    p.add_argument("id", help="exercise ID, e.g. 2.3.1")
    p.add_argument("file", help="a .py file with your answer")
    p.add_argument("--step", type=int, help="step number, for iterative and sequential exercises")
    p.set_defaults(func=_cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CourseFormatError as err:
        print(f"course: {err}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
