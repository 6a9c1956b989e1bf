"""ChArUco board definitions (TOML files in ``mocap/data/boards``) and printable boards."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mocap.config import check_keys
from mocap.errors import InputError
from mocap.io.tomlio import read_toml

BOARD_SCHEMA_VERSION = 1
#: Built-in boards ship inside the package (``mocap/data/boards``, copied to the repository's
#: ``calibration/boards`` for people to read and print).
BOARDS_DIR = Path(__file__).resolve().parents[1] / "data" / "boards"

PAPER_SIZES_MM = {"A4": (297.0, 210.0), "A3": (420.0, 297.0), "A2": (594.0, 420.0), "A1": (841.0, 594.0),
                  "LETTER": (279.4, 215.9), "TABLOID": (431.8, 279.4)}


@dataclass(frozen=True)
class CharucoBoard:
    """A ChArUco board.

    Attributes:
        name: short identifier (the TOML file's stem for built-in boards).
        squares_x: number of chessboard squares along x (columns).
        squares_y: number of squares along y (rows).
        square_length: chessboard square side, metres.
        marker_length: ArUco marker side, metres.
        dictionary: OpenCV predefined dictionary name, e.g. ``"DICT_4X4_1000"``.
        inverted: printed white-on-black (images are inverted before detection).
        legacy_pattern: OpenCV < 4.6 layout (matters only for an even number of rows).
        paper: paper size the board is meant to be printed on (``"A4"``, ``"A3"``...), if any.
    """

    name: str
    squares_x: int
    squares_y: int
    square_length: float
    marker_length: float
    dictionary: str = "DICT_4X4_250"
    inverted: bool = False
    legacy_pattern: bool = False
    paper: str | None = None

    def __post_init__(self) -> None:
        if not (2 <= self.squares_x <= 1000 and 2 <= self.squares_y <= 1000):
            raise ValueError("a ChArUco board needs 2 to 1000 squares each way")
        if not (0 < self.marker_length < self.square_length < 100):
            raise ValueError("marker_length must be positive and smaller than square_length (metres, under 100)")

    @property
    def n_corners(self) -> int:
        """Number of inner chessboard corners (the ChArUco corner ids ``0..n-1``)."""
        return (self.squares_x - 1) * (self.squares_y - 1)

    @property
    def corners_3d(self) -> np.ndarray:
        """``(N, 3)`` inner-corner positions on the board plane (z = 0), metres, id order."""
        return np.asarray(self.cv_board().getChessboardCorners(), dtype=float).reshape(-1, 3)

    @property
    def size_m(self) -> tuple[float, float]:
        return self.squares_x * self.square_length, self.squares_y * self.square_length

    def cv_dictionary(self):
        import cv2

        if not hasattr(cv2.aruco, self.dictionary):
            raise ValueError(f"unknown ArUco dictionary {self.dictionary!r}")
        return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))

    def cv_board(self):
        """The OpenCV ``cv2.aruco.CharucoBoard``."""
        import cv2

        board = cv2.aruco.CharucoBoard(
            (self.squares_x, self.squares_y), self.square_length, self.marker_length, self.cv_dictionary()
        )
        board.setLegacyPattern(bool(self.legacy_pattern))
        return board

    def adjacent_pairs(self) -> np.ndarray:
        """``(P, 2)`` corner-id pairs one square apart (for square-length checks)."""
        nx, ny = self.squares_x - 1, self.squares_y - 1
        ids = np.arange(nx * ny).reshape(ny, nx)
        horiz = np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()], axis=1)
        vert = np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()], axis=1)
        return np.concatenate([horiz, vert])

    # -- images ------------------------------------------------------------------------------------
    def render(self, px_per_square: int = 100, margin_squares: float = 0.5) -> np.ndarray:
        """Render the board as a grayscale image (inverted boards come out white on black)."""
        w = int(round(self.squares_x * px_per_square))
        h = int(round(self.squares_y * px_per_square))
        margin = int(round(margin_squares * px_per_square))
        img = self.cv_board().generateImage((w + 2 * margin, h + 2 * margin), marginSize=margin, borderBits=1)
        return 255 - img if self.inverted else img

    def to_dict(self) -> dict[str, Any]:
        d = {
            "schema_version": BOARD_SCHEMA_VERSION,
            "type": "charuco",
            "name": self.name,
            "squares_x": self.squares_x,
            "squares_y": self.squares_y,
            "square_length": self.square_length,
            "marker_length": self.marker_length,
            "dictionary": self.dictionary,
            "inverted": self.inverted,
            "legacy_pattern": self.legacy_pattern,
        }
        if self.paper:
            d["paper"] = self.paper
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str | Path | None = None, name: str | None = None) -> CharucoBoard:
        fix = ("a board needs type='charuco', squares_x, squares_y, square_length and marker_length "
               "(metres) and dictionary; see calibration/boards/*.toml for examples")
        check_keys(d, BOARD_KEYS, "", Path(source) if source is not None else Path("<board>"))
        if d.get("type", "charuco") != "charuco":
            raise InputError(f"unsupported board type {d.get('type')!r}", path=source, fix=fix)
        try:
            return cls(
                name=str(d.get("name", name or "board")),
                squares_x=int(d["squares_x"]),
                squares_y=int(d["squares_y"]),
                square_length=float(d["square_length"]),
                marker_length=float(d["marker_length"]),
                dictionary=str(d.get("dictionary", "DICT_4X4_250")),
                inverted=bool(d.get("inverted", False)),
                legacy_pattern=bool(d.get("legacy_pattern", False)),
                paper=d.get("paper"),
            )
        except KeyError as exc:
            raise InputError(f"board definition lacks {exc.args[0]!r}", path=source, fix=fix) from exc
        except (ValueError, TypeError, OverflowError) as exc:
            raise InputError(f"board definition is invalid: {exc}", path=source, fix=fix) from exc


_NUMBER = ((int, float), "a number (metres)")
BOARD_KEYS = {
    "schema_version": ((int,), "1"), "type": ((str,), '"charuco"'), "name": ((str,), "a string"),
    "squares_x": ((int,), "a whole number of squares"), "squares_y": ((int,), "a whole number of squares"),
    "square_length": _NUMBER, "marker_length": _NUMBER, "dictionary": ((str,), 'an OpenCV dictionary, e.g. '
    '"DICT_4X4_250"'), "inverted": ((bool,), "true or false"), "legacy_pattern": ((bool,), "true or false"),
    "paper": ((str,), 'a paper size, e.g. "A1"'), "description": ((str,), "a string"),
}
"""What a board TOML file may hold."""


def board_search_dirs(extra: list[Path] | None = None) -> list[Path]:
    dirs = list(extra or [])
    env = os.environ.get("MOCAP_BOARDS")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs.append(BOARDS_DIR)
    return dirs


def list_boards() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.toml"))


def load_board(name_or_path: str | Path, *, search: list[Path] | None = None) -> CharucoBoard:
    """Load a board by file path or by built-in name (``mocap/data/boards/NAME.toml``)."""
    p = Path(name_or_path)
    candidates = [p] if p.suffix == ".toml" or p.exists() else []
    candidates += [d / f"{name_or_path}.toml" for d in board_search_dirs(search)]
    for cand in candidates:
        if cand.is_file():
            data = read_toml(cand, what="board definition")
            return CharucoBoard.from_dict(data, source=cand, name=cand.stem)
    raise InputError(
        f"board {str(name_or_path)!r} not found",
        path=p if p.suffix == ".toml" else None,
        fix=f"give a board TOML file or one of the built-in boards: {', '.join(list_boards())}",
    )


_MARGIN_MM = 10.0
_CAPTION_MM = 8.0


def _page_mm(board: CharucoBoard, paper: str) -> tuple[float, float]:
    long_mm, short_mm = PAPER_SIZES_MM[paper]
    return (long_mm, short_mm) if board.size_m[0] >= board.size_m[1] else (short_mm, long_mm)


def _fits(board: CharucoBoard, paper: str) -> bool:
    page_w, page_h = _page_mm(board, paper)
    bw, bh = (v * 1000 for v in board.size_m)
    return bw + 2 * _MARGIN_MM <= page_w and bh + 2 * _MARGIN_MM + _CAPTION_MM <= page_h


def smallest_paper(board: CharucoBoard) -> str:
    """The smallest ISO paper size the board fits on at true scale (with margins)."""
    for paper in ("A4", "A3", "A2", "A1"):
        if _fits(board, paper):
            return paper
    raise ValueError(f"board {board.name} is larger than A1; print it in tiles or at a print shop")


def printable_page(board: CharucoBoard, *, paper: str | None = None, dpi: int = 300) -> np.ndarray:
    """A grayscale page image with the board at true scale (at ``dpi``) and a caption.

    Raises ``InputError``-free ``ValueError`` if the board does not fit the paper.
    """
    import cv2

    paper = (paper or board.paper or smallest_paper(board)).upper()
    if paper not in PAPER_SIZES_MM:
        raise ValueError(f"unknown paper size {paper!r}; choose one of {sorted(PAPER_SIZES_MM)}")
    if not _fits(board, paper):
        raise ValueError(
            f"board {board.name} ({board.size_m[0] * 1000:.0f} x {board.size_m[1] * 1000:.0f} mm) does not "
            f"fit on {paper} with margins; choose a larger paper size (e.g. {smallest_paper(board)})"
        )
    page_w_mm, page_h_mm = _page_mm(board, paper)
    margin_mm, caption_mm = _MARGIN_MM, _CAPTION_MM
    bw_mm, bh_mm = (v * 1000 for v in board.size_m)
    mm = dpi / 25.4
    page = np.full((int(round(page_h_mm * mm)), int(round(page_w_mm * mm))), 255, np.uint8)
    px_square = board.square_length * 1000 * mm
    bw, bh = int(round(board.squares_x * px_square)), int(round(board.squares_y * px_square))
    img = board.cv_board().generateImage((bw, bh), marginSize=0, borderBits=1)
    if board.inverted:
        img = 255 - img
    y0 = (page.shape[0] - bh - int(caption_mm * mm)) // 2
    x0 = (page.shape[1] - bw) // 2
    page[y0 : y0 + bh, x0 : x0 + bw] = img
    caption = (
        f"mocap board '{board.name}': {board.squares_x}x{board.squares_y} squares, "
        f"square {board.square_length * 1000:.1f} mm, marker {board.marker_length * 1000:.1f} mm, "
        f"{board.dictionary}{', inverted' if board.inverted else ''}. Print at 100% (actual size); "
        "measure a square and fix square_length if it differs."
    )
    scale = 0.9 * dpi / 300
    (tw, th), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    scale *= min(1.0, (page.shape[1] - 2 * margin_mm * mm) / tw)
    cv2.putText(page, caption, (int(margin_mm * mm), int(y0 + bh + caption_mm * mm * 0.8)),
                cv2.FONT_HERSHEY_SIMPLEX, scale, 0, max(1, dpi // 150), cv2.LINE_AA)
    return page


def write_printable(board: CharucoBoard, out: str | Path, *, paper: str | None = None, dpi: int = 300) -> Path:
    """Write a printable PNG or PDF (by suffix) of the board at true scale."""
    from PIL import Image

    from mocap.io.atomic import atomic_path

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".pdf"):
        raise ValueError(f"output must end in .png or .pdf, got {out.name!r}")
    page = printable_page(board, paper=paper, dpi=dpi)
    with atomic_path(out) as tmp:
        img = Image.fromarray(page)
        if suffix == ".pdf":
            img.save(tmp, format="PDF", resolution=float(dpi))
        else:
            img.save(tmp, format="PNG", dpi=(dpi, dpi))
    return out
