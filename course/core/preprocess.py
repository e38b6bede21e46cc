"""The one preprocessing of the course: from image files or pixel arrays to model input.

Training (``course.core.data.load_tensors``), the exercises and the served model (``course
serve``) all call these functions, so a model sees the same numbers in production as
in training. Only numpy and Pillow: a server that answers with ONNX Runtime need not
import torch.
"""

from __future__ import annotations

import io
import struct

import numpy as np

MEAN = (0.4914, 0.4822, 0.4465)  # per-channel mean and std of the CIFAR-10 training images
STD = (0.2470, 0.2435, 0.2616)
SIZE = 32  # CIFAR-10 images are 32x32 RGB
FORMATS = ("PNG", "JPEG", "MPO")  # MPO: a phone camera's JPEG with extra pictures; its first is the photo


class ImageError(ValueError):
    """The bytes are not an image the model can read; the message says why.
    ``unsupported_format`` is true for a readable image in a format other than PNG/JPEG."""

    def __init__(self, message: str, *, unsupported_format: bool = False):
        super().__init__(message)
        self.unsupported_format = unsupported_format


class ImageTooLarge(ImageError):
    """The image has more pixels than allowed (checked before it is decoded)."""


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 pixels (N, 32, 32, 3) or (32, 32, 3), RGB, channels last, to float32
    (N, 3, 32, 32) scaled to [0, 1] and normalised with ``MEAN``/``STD``."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[1:] != (SIZE, SIZE, 3) or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels of shape (N, {SIZE}, {SIZE}, 3), got {images.dtype} {images.shape}")
    x = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).astype(np.float32)
    x /= np.float32(255.0)
    x -= np.asarray(MEAN, dtype=np.float32).reshape(1, 3, 1, 1)
    x /= np.asarray(STD, dtype=np.float32).reshape(1, 3, 1, 1)
    return x


def decode_image(data: bytes, *, max_pixels: int = 40_000_000) -> np.ndarray:
    """A PNG or JPEG file's bytes to uint8 pixels (32, 32, 3), RGB: any size, resized
    with antialiasing. Raises ``ImageTooLarge`` for an image over ``max_pixels`` (from
    its header, before decoding, whatever size it claims) and ``ImageError`` for empty,
    truncated, non-image data or any other error Pillow reports (a PNG text or colour
    profile chunk that decompresses past Pillow's limit included)."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ImageError("the file is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise ImageError(f"the file is a {image.format} image; send a PNG or JPEG", unsupported_format=True)
            if image.width * image.height > max_pixels:
                raise ImageTooLarge(
                    f"the image has {image.width}x{image.height} pixels; at most {max_pixels:,} pixels are accepted"
                )
            image = image.convert("RGB")
            if image.size != (SIZE, SIZE):
                image = image.resize((SIZE, SIZE), Image.Resampling.BILINEAR, reducing_gap=3.0)
            return np.asarray(image, dtype=np.uint8).copy()
    except Image.DecompressionBombError:
        # Pillow refuses a header over twice Image.MAX_IMAGE_PIXELS while opening, before our check
        raise ImageTooLarge(
            f"the image header claims more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels; at most "
            f"{max_pixels:,} pixels are accepted"
        ) from None
    except UnidentifiedImageError:
        raise ImageError("the file is not an image that can be read (PNG or JPEG expected)") from None
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as err:
        # Pillow's decoders report bad data with each of these (ValueError: "Decompressed data
        # too large" for a zTXt, iTXt or iCCP bomb); none of it is the caller's fault to crash on
        raise ImageError(f"the image could not be decoded: {err}") from None
