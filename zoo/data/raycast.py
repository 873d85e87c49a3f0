"""Vectorised numpy ray casting of box-shaped rooms with boxes, spheres and cylinders.

World frame: y up, the floor is ``y = 0``. Camera frame (what depth and normals are given in):
x right, y down, z forward (OpenCV). Depth is metric z-depth (distance along the optical axis),
normals are unit vectors in the camera frame pointing out of the surface towards the viewer.
"""

from __future__ import annotations

import dataclasses

import numpy as np

FLOOR, WALL, CEILING = 0, 1, 2
_EPS = 1e-6


@dataclasses.dataclass
class Camera:
    """A pinhole camera: position, yaw/pitch (radians, pitch < 0 looks down) and horizontal FOV."""

    position: tuple[float, float, float]
    yaw: float = 0.0
    pitch: float = 0.0
    fov: float = np.deg2rad(70.0)

    def basis(self) -> np.ndarray:
        """Rows right, down, forward (a right-handed camera frame) in world coordinates."""
        cp, sp = np.cos(self.pitch), np.sin(self.pitch)
        forward = np.array([np.sin(self.yaw) * cp, sp, np.cos(self.yaw) * cp])
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        return np.stack([right, down, forward])

    def focal(self, width: int) -> float:
        """Focal length in pixels for an image this wide (square pixels)."""
        return 0.5 * width / np.tan(0.5 * self.fov)

    def rays(self, height: int, width: int) -> np.ndarray:
        """World ray directions ``[H*W, 3]`` whose forward component is exactly 1 (so t = z-depth)."""
        f = self.focal(width)
        xs = (np.arange(width) + 0.5 - 0.5 * width) / f
        ys = (np.arange(height) + 0.5 - 0.5 * height) / f
        cam = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None], np.ones((1, 1))), -1).reshape(-1, 3)
        return cam @ self.basis()


@dataclasses.dataclass
class Scene:
    """Room extents and the primitives inside it, with per-primitive class, colour and texture.

    Arrays are per primitive: spheres ``[Ns, 3]`` centres and ``[Ns]`` radii; boxes ``[Nb, 3]``
    centres, ``[Nb, 3]`` half sizes and ``[Nb]`` yaw; cylinders ``[Nc, 3]`` base centres (on the
    floor), ``[Nc]`` radii and heights. ``surface`` rows hold, for the room surfaces
    (floor, wall, ceiling) then spheres, boxes, cylinders: class, r, g, b, texture kind
    (0 plain, 1 checker, 2 stripes), texture scale, texture contrast.
    """

    room: tuple[float, float, float]  # width (x), height (y), depth (z); x in [-w/2, w/2], z in [0, d]
    sphere_center: np.ndarray
    sphere_radius: np.ndarray
    box_center: np.ndarray
    box_half: np.ndarray
    box_yaw: np.ndarray
    cyl_base: np.ndarray
    cyl_radius: np.ndarray
    cyl_height: np.ndarray
    surface: np.ndarray
    light_dir: np.ndarray  # unit vector towards the directional light
    ambient: float = 0.3


def _room_hits(origin, dirs, room):
    """Exit distance of every ray from the room box, the face class and the inward normal."""
    w, h, d = room
    lo = np.array([-w / 2, 0.0, 0.0])
    hi = np.array([w / 2, h, d])
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(dirs > 0, hi, lo)
        t_axis = np.where(np.abs(dirs) > _EPS, (bound - origin) / dirs, np.inf)
    axis = np.argmin(t_axis, axis=1)
    t = np.take_along_axis(t_axis, axis[:, None], 1)[:, 0]
    sign = np.sign(np.take_along_axis(dirs, axis[:, None], 1)[:, 0])
    normal = np.zeros_like(dirs)
    normal[np.arange(len(dirs)), axis] = -sign
    cls = np.where(axis == 1, np.where(sign < 0, FLOOR, CEILING), WALL)
    return t, cls, normal


def _sphere_hits(origin, dirs, centers, radii):
    """Nearest positive hit distance ``[P, Ns]`` (inf on a miss) and outward normals ``[P, Ns, 3]``."""
    oc = origin[None, :] - centers  # [Ns, 3]
    a = np.einsum("pk,pk->p", dirs, dirs)[:, None]
    b = dirs @ oc.T  # [P, Ns]
    c = np.einsum("nk,nk->n", oc, oc) - radii**2
    disc = b * b - a * c
    with np.errstate(invalid="ignore"):
        t = (-b - np.sqrt(disc)) / a
    t = np.where((disc > 0) & (t > _EPS), t, np.inf)
    points = origin + np.where(np.isfinite(t), t, 0.0)[..., None] * dirs[:, None, :]
    normal = (points - centers) / radii[:, None]
    return t, normal


def _yaw_matrices(yaw):
    """``[N, 3, 3]`` rotations about the world y axis."""
    c, s = np.cos(yaw), np.sin(yaw)
    z, o = np.zeros_like(yaw), np.ones_like(yaw)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _box_hits(origin, dirs, centers, halves, yaws):
    """Slab test against yaw-rotated boxes: distances ``[P, Nb]`` and outward normals ``[P, Nb, 3]``."""
    rot = _yaw_matrices(yaws)  # local -> world
    o_local = np.einsum("nji,nj->ni", rot, origin[None, :] - centers)  # [Nb, 3]
    d_local = np.matmul(dirs[None], rot).transpose(1, 0, 2)  # [P, Nb, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d_local
        t1 = (-halves - o_local) * inv
        t2 = (halves - o_local) * inv
    near = np.minimum(t1, t2)
    axis = np.argmax(near, axis=-1)
    t_near = np.take_along_axis(near, axis[..., None], -1)[..., 0]
    t_far = np.min(np.maximum(t1, t2), axis=-1)
    t = np.where((t_near <= t_far) & (t_near > _EPS), t_near, np.inf)
    sign = -np.sign(np.take_along_axis(d_local, axis[..., None], -1)[..., 0])
    local_n = (np.arange(3) == axis[..., None]) * sign[..., None]
    normal = np.matmul(local_n.transpose(1, 0, 2), rot.transpose(0, 2, 1)).transpose(1, 0, 2)
    return t, normal


def _cylinder_hits(origin, dirs, bases, radii, heights):
    """Vertical capped cylinders standing on the floor: distances ``[P, Nc]`` and normals ``[P, Nc, 3]``."""
    ox = origin[0] - bases[:, 0]
    oz = origin[2] - bases[:, 2]
    dx, dy, dz = dirs[:, 0:1], dirs[:, 1:2], dirs[:, 2:3]
    a = dx * dx + dz * dz
    b = dx * ox + dz * oz
    c = ox * ox + oz * oz - radii**2
    disc = b * b - a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        t_side = (-b - np.sqrt(disc)) / a
        y_side = origin[1] + t_side * dy
        side_ok = (disc > 0) & (t_side > _EPS) & (y_side >= 0) & (y_side <= heights)
        t_side = np.where(side_ok, t_side, np.inf)
        t_cap = (heights - origin[1]) / dy
    cap_x = ox + t_cap * dx
    cap_z = oz + t_cap * dz
    cap_ok = (t_cap > _EPS) & (cap_x * cap_x + cap_z * cap_z <= radii**2) & (origin[1] > heights)
    t_cap = np.where(cap_ok, t_cap, np.inf)
    use_cap = t_cap < t_side
    t = np.minimum(t_side, t_cap)
    ts = np.where(np.isfinite(t_side), t_side, 0.0)
    side_n = np.stack([(ox + ts * dx) / radii, np.zeros_like(ts), (oz + ts * dz) / radii], -1)
    normal = np.where(use_cap[..., None], np.array([0.0, 1.0, 0.0]), side_n)
    return t, normal


def _texture(kind, scale, contrast, points):
    """Procedural texture factor in ``[1 - contrast, 1]`` from world hit points."""
    cells = np.floor(points / scale[:, None]).astype(np.int64)
    checker = (cells.sum(-1) % 2).astype(np.float64)
    stripes = (cells[:, 1] % 2).astype(np.float64)
    pattern = np.where(kind == 1, checker, np.where(kind == 2, stripes, 0.0))
    return 1.0 - contrast * pattern


def render(scene: Scene, camera: Camera, height: int, width: int) -> dict[str, np.ndarray]:
    """Cast one ray per pixel: ``image`` [H,W,3] in [0,1], ``segmentation`` [H,W] class ids,
    ``depth`` [H,W] metric z-depth, ``normals`` [H,W,3] unit camera-frame normals."""
    origin = np.asarray(camera.position, dtype=np.float64)
    dirs = camera.rays(height, width)
    t_room, room_cls, n_room = _room_hits(origin, dirs, scene.room)
    ts = [t_room[:, None]]
    normals = [n_room[:, None, :]]
    if len(scene.sphere_radius):
        t, n = _sphere_hits(origin, dirs, scene.sphere_center, scene.sphere_radius)
        ts.append(t)
        normals.append(n)
    if len(scene.box_yaw):
        t, n = _box_hits(origin, dirs, scene.box_center, scene.box_half, scene.box_yaw)
        ts.append(t)
        normals.append(n)
    if len(scene.cyl_radius):
        t, n = _cylinder_hits(origin, dirs, scene.cyl_base, scene.cyl_radius, scene.cyl_height)
        ts.append(t)
        normals.append(n)
    t_all = np.concatenate(ts, 1)
    hit = np.argmin(t_all, 1)
    rows = np.arange(len(dirs))
    depth = t_all[rows, hit]
    normal = np.concatenate(normals, 1)[rows, hit]
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    # surface rows: 0 floor, 1 wall, 2 ceiling, then the objects in primitive order.
    surface_id = np.where(hit == 0, room_cls, hit + 2)
    props = scene.surface[surface_id]
    points = origin + depth[:, None] * dirs
    tex = _texture(props[:, 4].astype(np.int64), props[:, 5], props[:, 6], points)
    diffuse = np.clip(normal @ scene.light_dir, 0.0, None)
    to_cam = origin - points
    to_cam /= np.linalg.norm(to_cam, axis=-1, keepdims=True)
    head_lamp = 0.25 * np.clip(np.einsum("pk,pk->p", normal, to_cam), 0.0, None)
    shade = scene.ambient + (1.0 - scene.ambient) * diffuse + head_lamp
    rgb = np.clip(props[:, 1:4] * (tex * shade)[:, None], 0.0, 1.0)
    cam_normal = normal @ camera.basis().T
    return {
        "image": rgb.reshape(height, width, 3),
        "segmentation": props[:, 0].astype(np.int64).reshape(height, width),
        "depth": depth.reshape(height, width),
        "normals": cam_normal.reshape(height, width, 3),
    }
