"""course.core.preprocess: the one preprocessing shared by training, the exercises and the server."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from course.core.preprocess import MEAN, STD, ImageError, ImageTooLarge, decode_image, to_model_input


def encode(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def test_to_model_input_scales_and_normalises_channel_first():
    pixels = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    x = to_model_input(pixels)
    assert x.shape == (4, 3, 32, 32) and x.dtype == np.float32
    expected = (pixels.transpose(0, 3, 1, 2) / 255.0 - np.array(MEAN)[:, None, None]) / np.array(STD)[:, None, None]
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(to_model_input(pixels[0]), x[:1])  # one image gets a batch axis


def test_to_model_input_rejects_what_it_cannot_read():
    with pytest.raises(ValueError, match="uint8 pixels"):
        to_model_input(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="uint8 pixels"):
        to_model_input(np.zeros((3, 32, 32), np.uint8))


@pytest.mark.parametrize(
    "mode, size, fmt",
    [
        ("RGB", (32, 32), "PNG"),
        ("RGBA", (100, 60), "PNG"),
        ("L", (64, 64), "PNG"),
        ("P", (40, 40), "PNG"),
        ("RGB", (500, 375), "JPEG"),
        ("RGB", (16, 16), "JPEG"),
    ],
)
def test_decode_image_gives_32x32_rgb_uint8(mode, size, fmt):
    image = Image.new(mode, size, color=120 if mode in ("L", "P") else (200, 30, 40, 255)[: len(mode)])
    pixels = decode_image(encode(image, fmt))
    assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8


def test_decode_image_keeps_32x32_png_pixels_exactly():
    pixels = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_image(encode(Image.fromarray(pixels), "PNG")), pixels)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"hello", "not an image"),
        (encode(Image.new("RGB", (8, 8)), "PNG")[:20], "could not be decoded"),
        (
            encode(Image.fromarray(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)), "PNG")[
                :5000
            ],
            "could not be decoded",
        ),
        (encode(Image.new("RGB", (8, 8)), "GIF"), "GIF image"),
        (encode(Image.new("RGB", (8, 8)), "BMP"), "BMP image"),
    ],
)
def test_decode_image_errors_say_what_is_wrong(data, message):
    with pytest.raises(ImageError, match=message):
        decode_image(data)


def test_too_many_pixels_is_an_image_error_raised_before_decoding():
    data = encode(Image.new("L", (300, 200)), "PNG")
    with pytest.raises(ImageTooLarge, match="300x200"):
        decode_image(data, max_pixels=50_000)
    assert issubclass(ImageTooLarge, ImageError) and issubclass(ImageError, ValueError)
    assert not ImageError("x").unsupported_format
