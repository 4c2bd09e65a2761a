"""Real pictures for the fusion emulator's drawing answers, and their in-memory store.

Each picture is drawn with Pillow at the requested size on a background derived from the
seed and shows the prompt and the drawing parameters, so a developer can see what was
asked for. It is encoded as PNG unless ``[emu:picture-type=jpeg|webp|gif]`` asks for
another of :data:`PICTURE_TYPES`. Rendering costs CPU: callers run :func:`render_picture`
in a worker thread. The store keeps each picture with how its URL must behave
(``[emu:picture-fault=...]`` and friends, served by ``picture_server``).
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
DEFAULT_HUGE_BYTES = 12 * 1024 * 1024

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
class PictureType:
    """How one kind of picture is encoded and served."""

    pillow_format: str
    extension: str
    media_type: str


PICTURE_TYPES: dict[str, PictureType] = {
    "png": PictureType("PNG", "png", "image/png"),
    "jpeg": PictureType("JPEG", "jpg", "image/jpeg"),
    "webp": PictureType("WEBP", "webp", "image/webp"),
    "gif": PictureType("GIF", "gif", "image/gif"),
}
_SAVE_OPTIONS: dict[str, dict[str, int]] = {
    "PNG": {"compress_level": 1},
    "JPEG": {"quality": 85},
    "WEBP": {"quality": 80},
}


@dataclass(frozen=True)
class PictureRequest:
    """Everything that is drawn on one picture."""

    prompt: str
    width: int
    height: int
    seed: int
    scale: int
    model: str


def render_picture(picture: PictureRequest, kind: str) -> bytes:
    """Draw the picture encoded as ``kind``, a key of :data:`PICTURE_TYPES` (CPU-bound: call it off the event loop)."""
    pillow_format = PICTURE_TYPES[kind].pillow_format
    background = _background_color(picture.seed)
    image = Image.new("RGB", (picture.width, picture.height), background)
    draw = ImageDraw.Draw(image)
    _draw_shapes(draw, picture)
    _draw_caption(draw, picture, _text_color(background))
    output = io.BytesIO()
    image.save(output, format=pillow_format, **_SAVE_OPTIONS.get(pillow_format, {}))
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


@dataclass(frozen=True)
class StoredPicture:
    """A drawn picture and how its URL behaves: ``fault`` (None: serve it), redirects first, ``size`` when huge."""

    data: bytes
    kind: str = "png"
    fault: str | None = None
    redirects: int = 0
    size: int = DEFAULT_HUGE_BYTES

    @property
    def type(self) -> PictureType:
        return PICTURE_TYPES[self.kind]


class PictureStore:
    """The most recent pictures by id, forgetting the oldest beyond ``capacity``."""

    def __init__(self, capacity: int = STORE_CAPACITY) -> None:
        self._capacity = capacity
        self._pictures: OrderedDict[str, StoredPicture] = OrderedDict()

    def put(self, picture_id: str, picture: StoredPicture) -> None:
        self._pictures[picture_id] = picture
        self._pictures.move_to_end(picture_id)
        while len(self._pictures) > self._capacity:
            self._pictures.popitem(last=False)

    def get(self, picture_id: str) -> StoredPicture | None:
        picture = self._pictures.get(picture_id)
        if picture is not None:
            self._pictures.move_to_end(picture_id)
        return picture

    def __len__(self) -> int:
        return len(self._pictures)
