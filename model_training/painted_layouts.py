"""Label maps like the ones a user paints in the browser: a few large regions with smooth or jagged edges,
unlike the fine-grained Stanford maps. Drawn procedurally and deterministically (no randomness), at any
size, in the Stanford Background ids; one more uses the landscape renderer's cloud and snow (8, 9), which a
model without them paints as the classes they count as."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SKY, TREE, ROAD, GRASS, WATER, BUILDING, MOUNTAIN, OBJECT, CLOUD, SNOW = range(10)


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates in [0, 1)."""
    y, x = np.mgrid[:size, :size] / size
    return y, x


def _edge(x: np.ndarray, level: float, *waves: tuple[float, float, float]) -> np.ndarray:
    """A boundary height per column: `level` plus sine waves of (amplitude, frequency, phase)."""
    return level + sum(a * np.sin(2 * np.pi * f * x + p) for a, f, p in waves)


def _peaks(x: np.ndarray, level: float, peaks: list[tuple[float, float, float]]) -> np.ndarray:
    """A mountain ridge: the highest of triangular peaks (centre, height above `level`, half width)."""
    heights = [h * np.clip(1 - np.abs(x - c) / w, 0, None) for c, h, w in peaks]
    return level - np.max(heights, axis=0)


def lake_mountains_forest(size: int) -> np.ndarray:
    y, x = _grid(size)
    labels = np.full((size, size), SKY, np.uint8)
    labels[y > _peaks(x, 0.5, [(0.2, 0.25, 0.3), (0.55, 0.33, 0.3), (0.9, 0.2, 0.25)])] = MOUNTAIN
    labels[y > _edge(x, 0.55, (0.03, 3, 0.5), (0.015, 11, 2.0))] = TREE
    labels[y > 0.68] = WATER
    return labels


def meadow_with_trees(size: int) -> np.ndarray:
    y, x = _grid(size)
    labels = np.full((size, size), SKY, np.uint8)
    labels[y > _edge(x, 0.5, (0.02, 1.5, 0.0))] = GRASS
    for cx, cy, rx, ry in [(0.15, 0.42, 0.09, 0.14), (0.3, 0.45, 0.06, 0.1), (0.75, 0.4, 0.12, 0.17)]:
        labels[((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1] = TREE
    return labels


def street_with_buildings(size: int) -> np.ndarray:
    y, x = _grid(size)
    labels = np.full((size, size), SKY, np.uint8)
    for left, right, top in [(0.0, 0.18, 0.1), (0.18, 0.36, 0.25), (0.36, 0.64, 0.45), (0.64, 0.8, 0.18),
                             (0.8, 1.0, 0.05)]:
        labels[(x >= left) & (x < right) & (y > top)] = BUILDING
    # A road narrowing toward the vanishing point at the centre of the horizon.
    labels[(y > 0.6) & (np.abs(x - 0.5) < 0.05 + (y - 0.6) * 1.2)] = ROAD
    labels[(y > 0.72) & (y < 0.86) & (x > 0.56) & (x < 0.78)] = OBJECT  # a car
    return labels


def coast_with_cliff(size: int) -> np.ndarray:
    y, x = _grid(size)
    labels = np.full((size, size), SKY, np.uint8)
    labels[y > 0.45] = WATER
    labels[(y > _peaks(x, 0.75, [(0.0, 0.45, 0.45)])) & (x < 0.45)] = MOUNTAIN
    labels[y > _edge(x, 0.85, (0.03, 1.0, 1.0))] = GRASS
    return labels


def valley_road(size: int) -> np.ndarray:
    y, x = _grid(size)
    labels = np.full((size, size), SKY, np.uint8)
    labels[y > _peaks(x, 0.45, [(0.1, 0.2, 0.35), (0.45, 0.28, 0.25), (0.8, 0.22, 0.3)])] = MOUNTAIN
    labels[y > _edge(x, 0.48, (0.015, 2, 1.0))] = GRASS
    # A road winding from the bottom centre toward the foot of the mountains.
    centre = 0.5 + 0.15 * np.sin(6 * (1 - y))
    labels[(y > 0.5) & (np.abs(x - centre) < 0.01 + (y - 0.5) * 0.25)] = ROAD
    return labels


def forest_edge(size: int) -> np.ndarray:
    y, x = _grid(size)
    labels = np.full((size, size), SKY, np.uint8)
    labels[y > _edge(x, 0.3, (0.06, 4, 0.3), (0.03, 13, 1.0))] = TREE
    labels[y > _edge(x, 0.72, (0.02, 2, 0.0))] = GRASS
    return labels


def snowy_peaks_under_clouds(size: int) -> np.ndarray:
    y, x = _grid(size)
    labels = np.full((size, size), SKY, np.uint8)
    for cx, cy, rx, ry in [(0.2, 0.12, 0.16, 0.06), (0.62, 0.08, 0.2, 0.05), (0.9, 0.2, 0.12, 0.05)]:
        labels[((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1] = CLOUD
    ridge = _peaks(x, 0.55, [(0.25, 0.3, 0.3), (0.7, 0.25, 0.3)])
    labels[y > ridge] = SNOW  # snow-capped peaks over rock
    labels[y > ridge + 0.12] = MOUNTAIN
    labels[y > _edge(x, 0.6, (0.02, 5, 0.0), (0.01, 13, 1.0))] = TREE
    labels[y > _edge(x, 0.74, (0.02, 1.5, 0.5))] = SNOW  # a snowfield in front
    return labels


PAINTED_LAYOUTS: dict[str, Callable[[int], np.ndarray]] = {
    "lake, mountains, forest": lake_mountains_forest,
    "meadow with trees": meadow_with_trees,
    "street with buildings": street_with_buildings,
    "coast with a cliff": coast_with_cliff,
    "valley with a road": valley_road,
    "forest edge": forest_edge,
}


WEATHER_LAYOUTS: dict[str, Callable[[int], np.ndarray]] = {"snowy peaks under clouds": snowy_peaks_under_clouds}


def painted_layouts(size: int, weather: bool = False) -> dict[str, np.ndarray]:
    """Every layout as uint8 class ids [size, size]; with `weather`, also those painting cloud and snow."""
    layouts = PAINTED_LAYOUTS | (WEATHER_LAYOUTS if weather else {})
    return {name: draw(size) for name, draw in layouts.items()}
