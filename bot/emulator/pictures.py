"""Real PNG pictures for the fusion emulator's drawing answers, and their in-memory store.

Each picture is drawn with Pillow at the requested size on a background derived from the
seed and shows the prompt and the drawing parameters, so a developer can see what was
asked for. Rendering costs CPU: callers run :func:`render_png` in a worker thread.
"""

from __future__ import annotations

import colorsys
import io
import random
import re
import textwrap
from collections import OrderedDict
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

MIN_SIDE = 64
MAX_SIDE = 2048
MAX_SEED = 9_999_999
SIZE_PATTERN = re.compile(r"(\d{1,5})x(\d{1,5})")
STORE_CAPACITY = 256

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def parse_size(text: str) -> tuple[int, int] | None:
    """Parse ``WxH`` with both sides in 64..2048; ``None`` when invalid."""
    match = SIZE_PATTERN.fullmatch(text)
    if match is None:
        return None
    width, height = int(match.group(1)), int(match.group(2))
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        return None
    return width, height


def choose_seed(requested: int) -> int:
    """The seed actually used: ``-1`` asks for a random one."""
    return random.randint(0, MAX_SEED) if requested == -1 else requested


@dataclass(frozen=True)
class PictureRequest:
    """Everything that is drawn on one picture."""

    prompt: str
    width: int
    height: int
    seed: int
    scale: int
    model: str


def render_png(picture: PictureRequest) -> bytes:
    """Draw the picture and return PNG bytes (CPU-bound: call it off the event loop)."""
    background = _background_color(picture.seed)
    image = Image.new("RGB", (picture.width, picture.height), background)
    draw = ImageDraw.Draw(image)
    _draw_shapes(draw, picture)
    _draw_caption(draw, picture, _text_color(background))
    output = io.BytesIO()
    image.save(output, format="PNG", compress_level=1)
    return output.getvalue()


def _background_color(seed: int) -> tuple[int, int, int]:
    hue = (seed * 0.618033988749895) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.45, 0.85)
    return round(red * 255), round(green * 255), round(blue * 255)


def _text_color(background: tuple[int, int, int]) -> tuple[int, int, int]:
    red, green, blue = background
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    return (20, 20, 20) if luminance > 140 else (245, 245, 245)


def _draw_shapes(draw: ImageDraw.ImageDraw, picture: PictureRequest) -> None:
    # A few seed-dependent circles make pictures with different seeds easy to tell apart.
    shapes = random.Random(picture.seed)
    for _ in range(3 + picture.scale % 4):
        radius = shapes.randint(picture.width // 16 + 1, picture.width // 4 + 2)
        x, y = shapes.randint(0, picture.width), shapes.randint(0, picture.height)
        color = _background_color(shapes.randint(0, MAX_SEED))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)


def _draw_caption(draw: ImageDraw.ImageDraw, picture: PictureRequest, color: tuple[int, int, int]) -> None:
    font_size = max(10, min(picture.width, picture.height) // 24)
    font = _font(font_size)
    margin = max(4, picture.width // 32)
    line_height = round(font_size * 1.3)
    columns = max(8, int((picture.width - 2 * margin) / (font_size * 0.55)))
    details = [
        f"size {picture.width}x{picture.height}",
        f"seed {picture.seed}",
        f"scale {picture.scale}",
        f"model {picture.model}",
    ]
    room_for_prompt = max(1, (picture.height - 2 * margin) // line_height - len(details) - 1)
    prompt_lines = textwrap.wrap(picture.prompt or "(empty prompt)", columns)[:room_for_prompt]
    y = margin
    for line in [*prompt_lines, "", *details]:
        draw.text((margin, y), _drawable(line, font), font=font, fill=color)
        y += line_height


def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _drawable(text: str, font: Font) -> str:
    # Without FreeType Pillow falls back to a Latin-1 bitmap font that cannot encode CJK.
    if isinstance(font, ImageFont.FreeTypeFont):
        return text
    return text.encode("latin-1", "replace").decode("latin-1")


class PictureStore:
    """The most recent PNGs by id, forgetting the oldest beyond ``capacity``."""

    def __init__(self, capacity: int = STORE_CAPACITY) -> None:
        self._capacity = capacity
        self._pictures: OrderedDict[str, bytes] = OrderedDict()

    def put(self, picture_id: str, png: bytes) -> None:
        self._pictures[picture_id] = png
        self._pictures.move_to_end(picture_id)
        while len(self._pictures) > self._capacity:
            self._pictures.popitem(last=False)

    def get(self, picture_id: str) -> bytes | None:
        png = self._pictures.get(picture_id)
        if png is not None:
            self._pictures.move_to_end(picture_id)
        return png

    def __len__(self) -> int:
        return len(self._pictures)
