"""Camera geometry: directions on the sphere, sky axes, projection of disks and 3-D offsets.

A camera at polar angle ``theta`` and azimuth ``phi`` (degrees, in the simulation box)
looks at the galaxy from the unit vector ``n``. Its image "north" (+y) is the box's
z axis projected on the sky (the x axis for a camera on the pole) and +x is
``north × n``. Position angles are degrees east of north (counter-clockwise from +y),
in [0, 180), as in :mod:`galcat.models.galaxy.profile`.
"""

from __future__ import annotations

import math

import numpy as np

GOLDEN_ANGLE_DEG = 180.0 * (3.0 - math.sqrt(5.0))


def camera_directions(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """``(theta_deg, phi_deg)`` of ``n`` cameras on a Fibonacci sphere: even, deterministic."""
    if n < 1:
        raise ValueError(f"need at least one camera, got n={n}")
    k = np.arange(n)
    theta = np.degrees(np.arccos(1.0 - (2.0 * k + 1.0) / n))
    return theta, np.mod(k * GOLDEN_ANGLE_DEG, 360.0)


def line_of_sight(theta_deg: np.ndarray, phi_deg: np.ndarray) -> np.ndarray:
    """Unit vectors ``(n, 3)`` from the galaxy towards each camera."""
    t, p = np.radians(theta_deg), np.radians(phi_deg)
    return np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1)


def sky_axes(los: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image +x and +y (north) unit vectors ``(n, 3)`` for lines of sight ``(n, 3)``."""
    up = np.where(np.abs(los[:, 2:3]) > 0.999, [[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]])
    north = up - np.sum(up * los, axis=1, keepdims=True) * los
    north /= np.linalg.norm(north, axis=1, keepdims=True)
    return np.cross(north, los), north


def project(vectors: np.ndarray, x_axis: np.ndarray, y_axis: np.ndarray) -> np.ndarray:
    """Sky components ``(..., 2)`` of 3-D ``vectors (..., 3)`` for one camera's axes ``(3,)``."""
    return np.stack([vectors @ x_axis, vectors @ y_axis], axis=-1)


def inclination_deg(los: np.ndarray, spin_axis: np.ndarray) -> np.ndarray:
    """Angle (deg, 0 face-on to 90 edge-on) between each line of sight and the spin axis."""
    return np.degrees(np.arccos(np.clip(np.abs(los @ spin_axis), 0.0, 1.0)))


def projected_axis_ratio(inclination: np.ndarray | float, q0: float) -> np.ndarray:
    """``b/a`` of an oblate spheroid of intrinsic axis ratio ``q0`` at ``inclination`` (deg)."""
    i = np.radians(inclination)
    return np.sqrt(np.cos(i) ** 2 + q0**2 * np.sin(i) ** 2)


def position_angle_deg(direction_xy: np.ndarray) -> np.ndarray:
    """PA (deg east of north, [0, 180)) of sky directions ``(..., 2)``; 0 for zero vectors."""
    dx, dy = direction_xy[..., 0], direction_xy[..., 1]
    return np.mod(np.degrees(np.arctan2(-dx, dy)), 180.0)


def disk_position_angle_deg(los: np.ndarray, spin_axis: np.ndarray, x_axis: np.ndarray,
                            y_axis: np.ndarray) -> np.ndarray:
    """PA (deg) of a disk's major axis, the sky direction perpendicular to its spin axis."""
    major = np.cross(los, spin_axis)
    return position_angle_deg(np.stack([np.sum(major * x_axis, axis=1),
                                        np.sum(major * y_axis, axis=1)], axis=-1))


def disk_plane(spin_axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors spanning the plane perpendicular to ``spin_axis``."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(spin_axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(spin_axis, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(spin_axis, u)


def elongated(direction: np.ndarray, length: float, width: float, x_axis: np.ndarray,
              y_axis: np.ndarray) -> tuple[float, float, float]:
    """Projected ``(major half-size, axis ratio, PA deg)`` of a 3-D streak along ``direction``.

    ``length`` and ``width`` are the streak's half-length and half-width (any unit).
    """
    sky = project(direction, x_axis, y_axis)
    major = math.hypot(length * float(np.hypot(*sky)), width)
    return major, width / major, float(position_angle_deg(sky))
