"""The web app of ``course serve``: the trained classifier behind a JSON API and a page.

FastAPI (run by uvicorn, see ``course.product.serve``); the model is the ONNX file ``course
train`` writes (the shipped one in ``course/product/model/`` unless ``--model`` names another
folder), run by ONNX Runtime; images go through ``course.core.preprocess``, the same functions training used. torch is
never imported here.

Routes: ``GET /`` the page (``course/product/web/``, no CDN), ``POST /predict`` a multipart
upload (field ``file``) -> label, class index and every class's probability,
``GET /health``, ``GET /samples`` (real CIFAR-10 test images for the page), and the
OpenAPI docs at ``/docs`` and ``/redoc``, served from local files (fastapi-offline).
Every bad request gets a 4xx JSON ``{"detail": "..."}`` that says what was wrong.

Decoding an upload (a 24-megapixel PNG takes seconds) and running the model happen in
worker threads, at most ``DECODERS`` at a time (each large image holds its pixels in
memory), so the event loop stays free: ``/health`` answers while big uploads decode.
Every HTML page is sent with a Content-Security-Policy that allows only this server's
own files, so no page reaches the network (ReDoc's bundle would fetch its vendor's logo).
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import numpy as np
from fastapi import Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

from course.core import onnxrt
from course.core.preprocess import ImageError, ImageTooLarge, decode_image, to_model_input
from course.product.paths import SHIPPED_MODEL_DIR as MODEL_DIR  # the shipped model, written by `course train`
from course.product.paths import WEB_DIR

SAMPLES_FILE = WEB_DIR / "samples" / "samples.json"
MAX_UPLOAD_BYTES = 8 * 2**20  # the largest request body accepted
MAX_PIXELS = 25_000_000  # the largest image accepted (width x height), checked before decoding
IMAGE_TYPES = ("image/png", "image/jpeg", "image/jpg", "image/pjpeg", "application/octet-stream")
FIELD = "file"
DECODERS = 2  # images decoded at once (one per core here: more only slows /health); the others wait off the event loop
# Only this server's own files: ReDoc's footer asks cdn.redoc.ly for a logo; the browser refuses.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; "
    "font-src 'self' data:"
)


class Classifier:
    """The ONNX model of a ``course train`` output folder and its metadata."""

    def __init__(self, model_dir=MODEL_DIR, threads: int = 1):
        model_dir = Path(model_dir)
        meta_path, onnx_path = model_dir / "model.json", model_dir / "model.onnx"
        for path in (meta_path, onnx_path):
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path} is missing: --model must name a folder written by `course train` (model.onnx, model.json)"
                )
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.classes = list(self.meta["classes"])
        self.model_dir = model_dir
        self.session = onnxrt.session(onnx_path, threads=threads)
        self.input_name = self.session.get_inputs()[0].name

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """(10,) class probabilities of one uint8 (32, 32, 3) image."""
        return self.session.run(None, {self.input_name: to_model_input(pixels)})[0][0]

    def predict_bytes(self, data: bytes) -> dict:
        probs = self.probabilities(decode_image(data, max_pixels=MAX_PIXELS))
        index = int(probs.argmax())
        return {
            "label": self.classes[index],
            "index": index,
            "probability": float(probs[index]),
            "probabilities": {name: float(p) for name, p in zip(self.classes, probs)},
        }


class ApiError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


_UPLOAD_BODY = {  # the request body as the docs show it (the route reads the form itself)
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FIELD],
                "properties": {
                    FIELD: {"type": "string", "format": "binary", "description": "a PNG or JPEG image, any size"}
                },
            }
        }
    },
}
_ERRORS = {
    status: {"description": text, "content": {"application/json": {"example": {"detail": example}}}}
    for status, text, example in [
        (400, "no file, an empty file, or data that is not a readable image", "the file is empty"),
        (411, "no Content-Length header", "send a Content-Length header"),
        (413, "the upload or the image is too large", "the upload is 9,000,000 bytes; at most 8,388,608"),
        (
            415,
            "not multipart/form-data, or a file that is not a PNG or JPEG",
            "the request's content type is application/json; send multipart/form-data",
        ),
    ]
}


class Prediction(BaseModel):
    label: str = Field(description="the most probable class", examples=["cat"])
    index: int = Field(description="its index in the CIFAR-10 class order (0-9)", examples=[3])
    probability: float = Field(description="its probability", examples=[0.87])
    probabilities: dict[str, float] = Field(description="the probability of every class, by name")


class Health(BaseModel):
    status: str
    model: str
    classes: list[str]
    test_accuracy: float | None = Field(description="accuracy on the CIFAR-10 test set, from the model card")
    test_images: int | None = Field(description="how many test images that accuracy was measured on")


def create_app(model_dir=MODEL_DIR, threads: int = 1):
    """The FastAPI app serving the model in ``model_dir``."""
    classifier = Classifier(model_dir, threads=threads)
    evaluation = classifier.meta.get("evaluation", {})

    app = FastAPIOffline(
        title="CIFAR-10 classifier",
        description="The course's CIFAR-10 classifier (`course train`), answered by ONNX Runtime. "
        "POST an image to /predict; the page at / does it for you.",
        version=classifier.meta.get("created_utc", "unknown"),
    )
    app.state.classifier = classifier
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    decoders = anyio.CapacityLimiter(DECODERS)

    app.add_middleware(_OwnFilesOnly)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError):
        return JSONResponse({"detail": err.detail}, status_code=err.status)

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(WEB_DIR / "index.html", media_type="text/html")

    @app.get("/health", response_model=Health, summary="Is the model loaded?")
    async def health():
        return {
            "status": "ok",
            "model": str(classifier.model_dir),
            "classes": classifier.classes,
            "test_accuracy": evaluation.get("test_accuracy_onnx"),
            "test_images": evaluation.get("n_test"),
        }

    @app.get("/samples", summary="Real CIFAR-10 test images the page offers")
    async def samples():
        return json.loads(SAMPLES_FILE.read_text(encoding="utf-8"))

    @app.post(
        "/predict",
        response_model=Prediction,
        summary="Classify an image",
        responses=_ERRORS,
        openapi_extra={"requestBody": _UPLOAD_BODY},
    )
    async def predict(request: Request):
        data = await _read_upload(request)
        try:
            # In a worker thread: Pillow and ONNX Runtime release the GIL, so the event loop
            # (and /health) keeps answering while a large image decodes.
            answer = await anyio.to_thread.run_sync(classifier.predict_bytes, data, limiter=decoders)
        except ImageTooLarge as err:
            raise ApiError(413, str(err)) from None
        except ImageError as err:
            raise ApiError(400 if not err.unsupported_format else 415, str(err)) from None
        # A Response is sent as it is: the dict is already what Prediction describes, so
        # FastAPI's validation of it again would only cost time.
        return Response(json.dumps(answer), media_type="application/json")

    return app


class _OwnFilesOnly:
    """ASGI middleware: every HTML response gets ``CONTENT_SECURITY_POLICY`` (plain ASGI,
    so the JSON answers pay nothing for it)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_policy(message):
            if message["type"] == "http.response.start" and any(
                k == b"content-type" and v.startswith(b"text/html") for k, v in message.get("headers", [])
            ):
                message["headers"] = [
                    *message["headers"],
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_policy)


async def _read_upload(request) -> bytes:
    """The bytes of the uploaded file, or an ApiError that says what is wrong."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError(
            415,
            f"the request's content type is {content_type or 'missing'}; send "
            f"multipart/form-data with the image in a field named '{FIELD}' "
            f"(curl -F {FIELD}=@cat.png ...)",
        )
    length = request.headers.get("content-length")
    if length is None:
        raise ApiError(411, "send a Content-Length header (the upload size is checked before it is read)")
    if not length.isdigit():
        raise ApiError(400, f"the Content-Length header {length!r} is not a number")
    if int(length) > MAX_UPLOAD_BYTES:
        raise ApiError(413, f"the upload is {int(length):,} bytes; at most {MAX_UPLOAD_BYTES:,} bytes are accepted")
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as err:  # starlette raises its own errors for a malformed multipart body
        raise ApiError(400, f"the multipart body could not be read: {getattr(err, 'detail', err)}") from None
    try:
        upload = form.get(FIELD)
        if upload is None:
            others = ", ".join(repr(k) for k in form.keys()) or "none"
            raise ApiError(400, f"no file: send the image in a form field named '{FIELD}' (fields sent: {others})")
        if isinstance(upload, str):
            raise ApiError(400, f"the field '{FIELD}' is text, not a file upload")
        part_type = (upload.content_type or "").split(";")[0].strip().lower()
        if part_type and part_type not in IMAGE_TYPES:
            raise ApiError(415, f"the file was sent as {part_type}; send a PNG or JPEG image (image/png or image/jpeg)")
        data = await upload.read()
    finally:
        await form.close()
    if not data:
        raise ApiError(400, "the file is empty")
    return data


# ----------------------------------------------------------------------------
# The page's sample images (generated once, committed with the page)


def write_samples(per_class: int = 1, out_dir=WEB_DIR / "samples") -> list[dict]:
    """Write the first ``per_class`` test images of each class (from the shipped subset,
    the first 1,000 images of the CIFAR-10 test split) as PNG files plus samples.json."""
    from PIL import Image

    from course.core.data import CLASSES, SUBSET_DIR, SUBSET_FILES

    with np.load(Path(SUBSET_DIR) / SUBSET_FILES["test"]) as npz:
        images, labels = npz["images"], npz["labels"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, name in enumerate(CLASSES):
        for index in np.flatnonzero(labels == k)[:per_class]:
            file = f"{name}-{int(index)}.png"
            Image.fromarray(images[index]).save(out_dir / file, optimize=True)
            rows.append({"url": f"/static/samples/{file}", "label": name, "test_index": int(index)})
    (out_dir / "samples.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return rows
