"""A served model answers real requests: ``endpoint``.

The learner's FastAPI (or any Starlette) app is called through FastAPI's ``TestClient``,
in the sandbox, with real CIFAR-10 test images: as PNG uploads, or as JSON pixels. Its
answers are compared with the solution app's answers to the same requests, and bad
input (a text file, an empty or truncated upload, pixels of the wrong shape) must get a
4xx answer with a message, never a 500.
"""

from __future__ import annotations

import contextlib
import io
import json

from graders.compare import mismatch, show
from graders.sct.api import Check, Fail, class_names, fail_with, lookup, missing_fail

# Bad requests, by name: what each sends and how a message describes it.
_BAD_UPLOADS = {
    "text": ("a text file", lambda png: ("notes.txt", b"these are not pixels", "text/plain")),
    "empty": ("an empty file", lambda png: ("empty.png", b"", "image/png")),
    "truncated": ("a truncated PNG", lambda png: ("cut.png", png[:60], "image/png")),
}
_BAD_JSON = {
    "wrong_shape": ("pixels of shape (28, 28, 3)", lambda pixels: {"pixels": [row[:28] for row in pixels[:28]]}),
    "flat": (
        "a flat list of 3,072 numbers",
        lambda pixels: {"pixels": [v for row in pixels for px in row for v in px]},
    ),
    "out_of_range": (
        "pixel values above 255",
        lambda pixels: {"pixels": [[[v + 300 for v in px] for px in row] for row in pixels]},
    ),
}


def _png(image) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _answer(response) -> dict:
    # The body crosses to the grader as text (it may nest deeper than the wire keeps) and
    # is parsed there, where json.loads builds nothing but plain data.
    try:
        body = response.json()
    except ValueError:
        return {"status": response.status_code, "text": response.text[:2000]}
    if isinstance(body, dict) and "detail" in body and not isinstance(body["detail"], str):
        body = {**body, "detail": str(body["detail"])[:500]}  # a validation error lists every bad item
    return {"status": response.status_code, "text": json.dumps(body)[:20000]}


def _body(answer: dict):
    try:
        return json.loads(answer["text"])
    except ValueError:
        return answer["text"][:300]


class _Endpoint(Check):
    def __init__(self, app: str, path: str, upload: str | None, json_field: str | None):
        if (upload is None) == (json_field is None):
            raise ValueError("an endpoint takes either an upload field (upload=) or JSON pixels (json_field=)")
        self.app, self.path, self.upload, self.json_field = app, path, upload, json_field
        self.images = 0
        self.bad: tuple[str, ...] = ()
        self.status: int | None = None
        self.carries: str | None = None
        self.msgs: dict[str, str | None] = {}

    def predicts(self, images: int = 4, msg: str | None = None) -> "_Endpoint":
        """The first ``images`` CIFAR-10 test images each get a 200 answer equal to the
        solution's (numbers within 1e-4)."""
        self.images, self.msgs["predicts"] = images, msg
        return self

    def rejects(
        self, *bad: str, status: int | None = None, carries: str | None = None, msg: str | None = None
    ) -> "_Endpoint":
        """Each bad request gets a 4xx answer whose JSON says what is wrong. Uploads:
        ``"text"``, ``"empty"``, ``"truncated"``; JSON: ``"wrong_shape"``, ``"flat"``,
        ``"out_of_range"``. ``status`` asks for that status exactly (422 where the text says
        422); ``carries`` names the function whose exception the answer must pass on
        (``"course.core.preprocess.decode_image"``, called on the upload's bytes, or on the
        JSON pixels as uint8): its message must appear in the ``detail``."""
        known = _BAD_UPLOADS if self.upload else _BAD_JSON
        unknown = [b for b in bad if b not in known]
        if unknown:
            raise ValueError(f"unknown bad requests {unknown}; this endpoint knows {', '.join(known)}")
        self.bad, self.msgs["rejects"] = bad, msg
        self.status, self.carries = status, carries
        return self

    def _post(self, client, payload):
        if self.upload:
            return client.post(self.path, files={self.upload: payload})
        return client.post(self.path, json=payload)

    def probe(self, run):
        from fastapi.testclient import TestClient
        from starlette.applications import Starlette

        from course.core.data import load_arrays

        app, missing = lookup(run.ns, self.app)
        if missing:
            return missing
        info: dict = {"exists": True, "types": class_names(app), "is_app": isinstance(app, Starlette)}
        if not info["is_app"]:
            return info
        images = load_arrays("test")[0][: max(self.images, 1)]
        log = io.StringIO()
        # A failing request logs its traceback: keep it for the message, out of "your code printed".
        with (
            contextlib.redirect_stdout(log),
            contextlib.redirect_stderr(log),
            TestClient(app, raise_server_exceptions=False) as client,
        ):
            good = [
                ("image.png", _png(img), "image/png") if self.upload else {self.json_field: img.tolist()}
                for img in images[: self.images]
            ]
            info["answers"] = [_answer(self._post(client, payload)) for payload in good]
            sample = _png(images[0]) if self.upload else images[0].tolist()
            bad = []
            for name in self.bad:
                describe, make = (_BAD_UPLOADS if self.upload else _BAD_JSON)[name]
                payload = make(sample)
                if self.json_field and self.json_field != "pixels":
                    payload = {self.json_field: payload["pixels"]}
                bad.append(
                    {
                        "name": name,
                        "describe": describe,
                        **_answer(self._post(client, payload)),
                        "raised": _raised(
                            self.carries,
                            payload[1] if self.upload else payload.get(self.json_field, payload.get("pixels")),
                        ),
                    }
                )
            info["bad"] = bad
        info["log"] = log.getvalue()[-1500:]
        return info

    def judge(self, got, want, ctx):
        if not got["exists"]:
            return missing_fail(self.app, got)
        if not got["is_app"]:
            return fail_with(
                None,
                Fail(f"`{self.app}` should be a FastAPI app.", expected="FastAPI", got=got["types"][0].split(".")[-1]),
                ctx,
                self.app,
            )
        what = "a PNG of" if self.upload else "the pixels of"
        for i, (mine, theirs) in enumerate(zip(got["answers"], want["answers"] if want else got["answers"])):
            request = f"POST {self.path} with {what} CIFAR-10 test image {i}"
            if mine["status"] != 200:
                why = {
                    404: f" The app has no route at {self.path}: the path in the route's decorator is the URL clients use.",
                    405: f" The app answers {self.path}, but not POST requests (405, Method Not Allowed): the "
                    "decorator's name is the HTTP method it routes.",
                }.get(mine["status"], "")
                fail = Fail(
                    f"{request} answered {mine['status']} instead of 200.{why}",
                    expected="200 and a prediction",
                    got=f"{mine['status']} {show(_body(mine))}",
                    detail=_last_error(got["log"]),
                )
                return fail_with(self.msgs.get("predicts"), fail)
            fail = mismatch("the answer", _body(mine), _body(theirs), atol=1e-4, rtol=1e-4)
            if fail:
                fail.message = f"{request} got a different answer: {fail.message}"
                return fail_with(self.msgs.get("predicts"), fail)
        for bad in got["bad"]:
            status, body = bad["status"], _body(bad)
            request = f"POST {self.path} with {bad['describe']}"
            if status >= 500:
                fail = Fail(
                    f"{request} answered {status}, a server error. Bad input is the client's mistake: "
                    "answer it with a 4xx status (HTTPException(status_code=422, detail=...)) and a message "
                    "that says what is wrong.",
                    expected="a 4xx status with a message",
                    got=f"{status} {show(body)}",
                    detail=_last_error(got["log"]),
                )
            elif not 400 <= status < 500:
                fail = Fail(
                    f"{request} answered {status} as if the input were fine: reject it with a 4xx status "
                    "and a message.",
                    expected="a 4xx status",
                    got=f"{status} {show(body)}",
                )
            elif not (isinstance(body, dict) and body.get("detail")):
                fail = Fail(
                    f"{request} answered {status} without saying what is wrong: give the HTTPException a "
                    "detail message.",
                    expected="a JSON body with a 'detail'",
                    got=show(body),
                )
            elif self.status is not None and status != self.status:
                fail = Fail(
                    f"{request} answered {status}; the exercise asks for {self.status}. 422 (Unprocessable "
                    "Content) says the request arrived well formed but its content cannot be used: the answer "
                    "for input the model cannot take.",
                    expected=str(self.status),
                    got=str(status),
                )
            elif bad.get("raised") and bad["raised"] not in str(body.get("detail")):
                fail = Fail(
                    f"{request} answered {status} with a detail that leaves out the error's own message, "
                    "which says what is wrong with this input: put str(err) into the detail.",
                    expected=f"a detail containing {bad['raised']!r}",
                    got=show(body),
                )
            else:
                continue
            return fail_with(self.msgs.get("rejects"), fail)
        return None


def _raised(function: str | None, value) -> str | None:
    """The message of the exception ``function`` (a dotted import path) raises on ``value``."""
    if not function:
        return None
    import importlib

    import numpy as np

    module, _, name = function.rpartition(".")
    try:
        importlib.import_module(module).__dict__[name](
            value if isinstance(value, bytes) else np.asarray(value, dtype=np.uint8)
        )
    except Exception as err:
        return str(err)[:300] or None
    return None


def _last_error(log: str) -> str | None:
    """The last line of the server's traceback (the exception), if a request raised."""
    lines = [l for l in log.strip().splitlines() if l.strip()]
    return lines[-1].strip()[:300] if lines else None


def endpoint(
    app: str = "app", path: str = "/predict", *, upload: str | None = None, json_field: str | None = None
) -> _Endpoint:
    """Check a served model through FastAPI's TestClient: ``endpoint("app", "/predict",
    upload="file").predicts(images=4).rejects("text", "empty")`` posts image files in the
    form field ``file``; ``json_field="pixels"`` posts ``{"pixels": [[[r, g, b], ...]]}``."""
    return _Endpoint(app, path, upload, json_field)
