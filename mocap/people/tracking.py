"""Who is who over a take: people tracked in 3D, with stable identities.

Every frame, the cross-view groups of :func:`mocap.people.association.associate` that at least
``min_views`` cameras see (their joints triangulated by the association, least squares over the rays)
are reduced to a centre (per-axis median of the joints) and a body signature (bone lengths).

Online, frame by frame (:class:`PeopleTracker`):

1. **Prediction**: each person's centre moves at constant velocity (on the floor, exponentially
   smoothed with ``velocity_smoothing``, at most ``max_speed``; used for at most
   ``velocity_horizon`` seconds of absence, then the person is assumed to stand still).
2. **Gating**: a group can be a person only if its centre is within ``gate`` metres of the
   prediction (measured across ``up``, on the floor: hidden legs move a centre up, not sideways),
   a gate that grows by ``max_speed`` m/s while the person is unseen. For a person unseen longer
   than ``reid_after`` seconds, the group's bone lengths must also be within ``signature_gate``
   (mean absolute difference) of the person's median ones, when both are known.
3. **Assignment**: Hungarian assignment (``scipy.optimize.linear_sum_assignment``) of groups to
   people on ``distance / gate + signature_weight * bone difference / signature_gate`` (the base
   gate, so that of two people in reach the one seen more recently nearby wins). Two people
   crossing keep their identities because each stays closest to its own prediction; the bone term
   only breaks near-ties (per-frame bone lengths are noisy, so it never forbids a person seen a
   moment ago).
4. **New people**: a group given to nobody becomes a new person, unless it lies within
   ``duplicate_distance`` of a group given to someone this frame or of the prediction of someone
   seen within ``reid_after`` seconds (the same person, split over two camera subsets, or a group
   the gates refused: counted in :attr:`PeopleTracks.n_unassigned`, never a twin identity).

At the end (:meth:`PeopleTracker.result`):

5. **Clean-up**: people seen in fewer than ``min_frames`` frames (ghosts of a wrong association)
   are removed.
6. **Re-identification by stitching**: a person who appears after another one vanished is the same
   person when the distance between the last and the first position could be walked at
   ``max_speed`` (plus ``gate``) and the bone lengths, as medians over all their frames (much
   steadier than one frame's), agree within ``signature_gate``. Best pairs are linked first, one
   successor per person.
7. **max_people**: while more people remain than ``max_people``, the people that never overlap in
   time are linked further on bone lengths (then distance) alone; if people still overlap, those
   seen in the fewest frames are removed and their frames counted in ``n_unassigned``.
8. Ids are ``0..N-1`` in order of first appearance (ties: by position, x then y).

Handled cases: a frame with nobody (people coast on their prediction); a person seen by one camera
only (a one-view group has no 3D: not tracked, that person's candidate index stays -1 there); more
people than ``max_people`` (7). Limits: the provisional ids that :meth:`PeopleTracker.update`
returns can merge at the end (6, 7); two people who leave, swap places out of view and come back
with similar bone lengths may swap identities (bone lengths from a markerless detector separate
people only when their sizes differ by a few centimetres).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mocap.camera import CameraRig
from mocap.errors import MocapError
from mocap.people.association import AssociationConfig, FrameGroups, associate_rays, candidate_rays


@dataclass(frozen=True)
class TrackingConfig:
    """Settings of the 3D identity tracking (distances in metres, times in seconds)."""

    gate: float = 0.5
    """Most distance between a person's predicted centre and a group seen the very next frame."""
    max_speed: float = 3.0
    """The gate grows by this many metres per second while a person is unseen."""
    velocity_smoothing: float = 0.15
    """Time constant of the exponential smoothing of each person's velocity (on the floor)."""
    velocity_horizon: float = 0.5
    """The constant-velocity prediction runs for at most this long into an absence."""
    reid_after: float = 0.25
    """Seconds unseen after which a person must also match on bone lengths to be given a group."""
    signature_gate: float = 0.05
    """Most mean bone-length difference (metres) to re-identify a person (when both are known)."""
    signature_weight: float = 0.5
    """Weight of the bone-length difference against the distance in the assignment cost."""
    up: tuple[float, float, float] | None = (0.0, 0.0, 1.0)
    """The world's up direction (mocap's calibration: +Z). Distances between people are measured
    across it (on the floor), so that a group whose legs are hidden, whose centre is high, is still
    near its person; None: full 3D distances (for a rig whose world frame is not levelled)."""
    duplicate_distance: float = 0.3
    """An unassigned group closer than this to an assigned group, or to someone seen within
    ``reid_after``, is not a new person."""
    min_frames: int = 3
    """People seen in fewer frames are removed at the end."""
    min_views: int = 2
    """Fewest cameras a group needs to be triangulated and tracked."""
    reassign_joints: bool = True
    """Give every detected joint to the performer whose 3D it fits, so that one detection covering two
    people (one partly hiding the other) is split between them (:mod:`mocap.people.ownership`)."""
    joint_distance: float = 0.1
    """Most distance of a reassigned joint from a performer's projected joint, as a fraction of their
    height in the image."""
    association: AssociationConfig = field(default_factory=AssociationConfig)
    """Settings of the per-frame cross-view association."""


@dataclass(frozen=True, eq=False)
class PeopleTracks:
    """People over a take and the candidate each camera contributes to each of them.

    ``N`` people (``person_id`` = index, ``0..N-1`` by first appearance), ``C`` cameras, ``F`` frames.

    Attributes:
        candidate: ``(N, C, F)`` int, slot of the person's candidate in that camera and frame, -1
            where the camera does not contribute (not seen, seen by one camera only, rejected).
        swapped: ``(N, C, F)`` bool, that candidate fitted with left/right labels exchanged.
        center: ``(N, F, 3)`` metres, the person's triangulated centre; NaN where not tracked.
        first_frame: ``(N,)`` first frame tracked.
        last_frame: ``(N,)`` last frame tracked.
        frames_seen: ``(N,)`` number of frames tracked.
        n_unassigned: ``(F,)`` multi-view groups given to nobody (more people than ``max_people``,
            duplicates, removed ghosts).
        camera_names: the rig's cameras, in order.
        fps: frame rate of the take.
    """

    candidate: np.ndarray
    swapped: np.ndarray
    center: np.ndarray
    first_frame: np.ndarray
    last_frame: np.ndarray
    frames_seen: np.ndarray
    n_unassigned: np.ndarray
    camera_names: tuple[str, ...]
    fps: float

    @property
    def n_people(self) -> int:
        return int(self.candidate.shape[0])

    @property
    def person_id(self) -> np.ndarray:
        """``(N,)`` the people's ids: ``0..N-1``, in order of first appearance."""
        return np.arange(self.n_people)

    def keypoints(self, xy: np.ndarray, conf: np.ndarray, person: int,
                  mirror: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One person's 2D keypoints, ready for single-person triangulation.

        Args:
            xy: ``(C, F, P, J, 2)`` the candidates the tracks were made from.
            conf: ``(C, F, P, J)``.
            person: the person id.
            mirror: the keypoint set's left/right permutation; when given, candidates matched with
                swapped labels are swapped back.

        Returns:
            ``xy (C, F, J, 2)`` (NaN where the person has no candidate) and ``conf (C, F, J)`` (0 there).
        """
        xy = np.asarray(xy)
        conf = np.asarray(conf)
        slot = self.candidate[person]  # (C, F)
        c, f = np.nonzero(slot >= 0)
        out_xy = np.full(xy.shape[:2] + xy.shape[3:], np.nan, dtype=np.result_type(xy.dtype, np.float32))
        out_conf = np.zeros(conf.shape[:2] + conf.shape[3:], dtype=conf.dtype)
        pts, cf = xy[c, f, slot[c, f]], conf[c, f, slot[c, f]]
        if mirror is not None:
            sw = self.swapped[person][c, f]
            m = np.asarray(mirror, int)
            pts[sw] = pts[sw][:, m]
            cf[sw] = cf[sw][:, m]
        out_xy[c, f] = pts
        out_conf[c, f] = cf
        return out_xy, out_conf


# --------------------------------------------------------------------------------------------------
# Per-frame 3D of the groups (pure)
# --------------------------------------------------------------------------------------------------


def nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """Median ignoring NaN along ``axis`` (NaN where all are NaN); fast for small arrays."""
    a = np.moveaxis(np.asarray(a, float), axis, -1)
    s = np.sort(a, axis=-1)  # NaN sort last
    n = np.count_nonzero(~np.isnan(a), axis=-1)
    lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0)[..., None], -1)[..., 0]
    hi = np.take_along_axis(s, np.maximum(n // 2, 0)[..., None], -1)[..., 0]
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


def group_centers(points3d: np.ndarray) -> np.ndarray:
    """``(G, J, 3)`` -> ``(G, 3)`` per-axis median of each group's triangulated joints (NaN if none)."""
    pts = np.where(np.isfinite(points3d).all(-1, keepdims=True), points3d, np.nan)
    return nanmedian(pts, axis=1)


def bone_lengths(points3d: np.ndarray, bones: np.ndarray) -> np.ndarray:
    """``(..., J, 3)`` joints and ``(B, 2)`` joint pairs -> ``(..., B)`` lengths (NaN where missing)."""
    return np.linalg.norm(points3d[..., bones[:, 1], :] - points3d[..., bones[:, 0], :], axis=-1)


def signature_distance(a: np.ndarray, b: np.ndarray, min_bones: int = 3) -> np.ndarray:
    """Mean absolute bone-length difference between signatures ``a (T, B)`` and ``b (G, B)``.

    Returns ``(T, G)`` metres; NaN where fewer than ``min_bones`` bones are known in both.
    """
    d = np.abs(a[:, None, :] - b[None, :, :])
    ok = np.isfinite(d)
    n = ok.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, d, 0.0).sum(-1) / n
    return np.where(n >= min_bones, mean, np.nan)


# --------------------------------------------------------------------------------------------------
# The tracker (thin state over the math above)
# --------------------------------------------------------------------------------------------------


class _Person:
    """One provisional person's running state."""

    __slots__ = ("first", "last", "first_pos", "pos", "vel", "sigs", "sig", "seen")

    def __init__(self, frame: int, pos: np.ndarray, n_bones: int):
        self.first = self.last = frame
        self.first_pos = self.pos = pos
        self.vel = np.zeros(3)
        self.sigs: list[np.ndarray] = []
        self.sig = np.full(n_bones, np.nan)
        self.seen = 0


class PeopleTracker:
    """Online tracker: feed one frame's candidates at a time, then take :meth:`result`.

    Args:
        rig: the calibrated cameras.
        fps: frame rate of the take.
        config: tracking settings.
        bones: ``(B, 2)`` joint index pairs whose lengths make the body signature (the keypoint set's
            rigid edges); None: no signature, identities rely on motion only.
        mirror: ``(J,)`` the keypoint set's left/right permutation
            (:func:`mocap.people.association.mirror_permutation`): left/right-swapped candidates match too.
        max_people: most people in the take; None: as many as are found. When set, people who never
            overlap in time are merged (bone lengths, then distance) down to this number, and extra
            ones removed.
    """

    def __init__(self, rig: CameraRig, fps: float, config: TrackingConfig = TrackingConfig(), *,
                 bones=None, mirror: tuple[int, ...] | None = None, max_people: int | None = None):
        if not fps > 0:
            raise MocapError(f"fps must be positive, got {fps}", fix="pass the take's frame rate")
        if max_people is not None and max_people < 1:
            raise MocapError(f"max_people must be at least 1 or None, got {max_people}",
                             fix="leave it unset to find everyone")
        self.rig = rig
        self.fps = float(fps)
        self.config = config
        self.mirror = None if mirror is None else tuple(int(m) for m in mirror)
        self.max_people = None if max_people is None else int(max_people)
        self._bones = np.zeros((0, 2), int) if bones is None else np.asarray(bones, int).reshape(-1, 2)
        up = None if config.up is None else np.asarray(config.up, float)
        self._across = np.eye(3) if up is None else np.eye(3) - np.outer(up, up) / (up @ up)
        self._people: list[_Person] = []
        self._frames: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._unassigned: list[int] = []

    @property
    def n_frames(self) -> int:
        return len(self._frames)

    def update(self, xy: np.ndarray, conf: np.ndarray) -> tuple[FrameGroups, np.ndarray]:
        """Track the next frame.

        Args:
            xy: ``(C, P, J, 2)`` candidates in video pixels (all-NaN slot = empty).
            conf: ``(C, P, J)``.

        Returns:
            The frame's groups and ``(G,)`` the provisional person of each group (-1: none).
            Provisional people can be merged or removed by :meth:`result`.
        """
        cfg = self.config
        rays = candidate_rays(self.rig, xy, conf, cfg.association.min_conf)
        groups = associate_rays(rays, cfg.association, mirror=self.mirror)
        ids = np.full(groups.n_groups, -1)
        frame = self.n_frames
        tracked = np.flatnonzero(groups.n_views >= cfg.min_views)
        centers = np.zeros((0, 3))
        if len(tracked):
            pts = groups.points[tracked]
            centers = group_centers(pts)
            finite = np.isfinite(centers).all(-1)
            tracked, pts, centers = tracked[finite], pts[finite], centers[finite]
            ids[tracked] = self._assign(frame, centers, bone_lengths(pts, self._bones))
        self._unassigned.append(int((ids[tracked] < 0).sum()))
        self._frames.append((groups.members, groups.swapped, ids, centers[ids[tracked] >= 0] if len(tracked)
                             else centers))
        return groups, ids

    # -- online assignment -----------------------------------------------------------------------
    def _predict(self, frame: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predicted centres ``(T, 3)``, gates ``(T,)`` metres and time unseen ``(T,)`` seconds."""
        cfg = self.config
        dt = np.array([frame - p.last for p in self._people], float) / self.fps
        pos = np.array([p.pos for p in self._people]).reshape(-1, 3)
        vel = np.array([p.vel for p in self._people]).reshape(-1, 3)
        pred = pos + vel * np.minimum(dt, cfg.velocity_horizon)[:, None]
        gates = cfg.gate + cfg.max_speed * np.maximum(dt - 1.0 / self.fps, 0.0)
        return pred, gates, dt

    def _assign(self, frame: int, centers: np.ndarray, sigs: np.ndarray) -> np.ndarray:
        """Provisional person ``(G,)`` of each triangulated group (-1: none); updates the people."""
        from scipy.optimize import linear_sum_assignment

        cfg = self.config
        ids = np.full(len(centers), -1)
        blocked = np.zeros((0, 3))
        if self._people:
            pred, gates, dt = self._predict(frame)
            dist = np.linalg.norm((pred[:, None] - centers[None]) @ self._across, axis=-1)
            cost = dist / cfg.gate  # not the grown gate: someone seen a moment ago nearby comes first
            allowed = dist <= gates[:, None]
            if sigs.shape[1]:
                sd = signature_distance(np.array([p.sig for p in self._people]), sigs)
                known = np.isfinite(sd)
                cost = cost + np.where(known, cfg.signature_weight * np.minimum(sd / cfg.signature_gate, 3.0), 0.0)
                allowed &= ~(known & (sd > cfg.signature_gate) & (dt > cfg.reid_after)[:, None])
            rows, cols = linear_sum_assignment(np.where(allowed, cost, 1e6))
            ok = allowed[rows, cols]
            ids[cols[ok]] = rows[ok]
            blocked = pred[dt <= cfg.reid_after]
        free = np.flatnonzero(ids < 0)
        if len(free):
            near = np.concatenate([centers[ids >= 0], blocked])
            if len(near):
                gap = np.linalg.norm((centers[free][:, None] - near[None]) @ self._across, axis=-1).min(1)
                free = free[gap > cfg.duplicate_distance]
            free = free[np.lexsort((centers[free, 1], centers[free, 0]))]  # new people ordered by position
            for g in free:
                self._people.append(_Person(frame, centers[g], sigs.shape[1]))
                ids[g] = len(self._people) - 1
        for g in np.flatnonzero(ids >= 0):
            self._update_person(self._people[ids[g]], frame, centers[g], sigs[g])
        return ids

    def _update_person(self, p: _Person, frame: int, center: np.ndarray, sig: np.ndarray) -> None:
        dt = (frame - p.last) / self.fps
        cfg = self.config
        if p.seen and 0 < dt <= cfg.velocity_horizon:  # smoothed on the floor, at most max_speed
            v = ((center - p.pos) / dt) @ self._across
            a = min(1.0, dt / cfg.velocity_smoothing)
            vel = a * v + (1.0 - a) * p.vel
            speed = np.linalg.norm(vel)
            p.vel = vel if speed <= cfg.max_speed else vel * (cfg.max_speed / speed)
        elif p.seen:
            p.vel = np.zeros(3)
        p.pos = center
        p.last = frame
        p.seen += 1
        if sig.size:
            p.sigs.append(sig)
            n = len(p.sigs)
            if n <= 8 or n % 8 == 0:  # the median moves slowly: refresh it now and then
                p.sig = nanmedian(np.array(p.sigs[-64:]), axis=0)

    # -- result ----------------------------------------------------------------------------------
    def result(self) -> PeopleTracks:
        """The take so far as :class:`PeopleTracks`: ghosts removed, people re-identified, ids final."""
        cfg = self.config
        n_frames, n_cams = self.n_frames, len(self.rig)
        people = [i for i, p in enumerate(self._people) if p.seen >= cfg.min_frames]
        chains = stitch(
            first=np.array([self._people[i].first for i in people], int),
            last=np.array([self._people[i].last for i in people], int),
            first_pos=np.array([self._people[i].first_pos for i in people]).reshape(-1, 3),
            last_pos=np.array([self._people[i].pos for i in people]).reshape(-1, 3),
            signature=np.array([nanmedian(np.array(self._people[i].sigs), axis=0) if self._people[i].sigs
                                else np.full(len(self._bones), np.nan) for i in people]).reshape(
                                    len(people), len(self._bones)),
            frames_seen=np.array([self._people[i].seen for i in people], int),
            fps=self.fps, config=cfg, across=self._across, max_people=self.max_people,
        )
        final = np.full(len(self._people), -1)  # provisional person -> final id
        for k, chain in enumerate(chains):
            final[[people[i] for i in chain]] = k
        candidate = np.full((len(chains), n_cams, n_frames), -1)
        swapped = np.zeros((len(chains), n_cams, n_frames), bool)
        center = np.full((len(chains), n_frames, 3), np.nan)
        unassigned = np.asarray(self._unassigned, int).copy()
        for f, (members, sw, ids, centers) in enumerate(self._frames):
            g = np.flatnonzero(ids >= 0)
            k = final[ids[g]]
            unassigned[f] += int((k < 0).sum())
            candidate[k[k >= 0], :, f] = members[g[k >= 0]]
            swapped[k[k >= 0], :, f] = sw[g[k >= 0]]
            center[k[k >= 0], f] = centers[k >= 0]
        seen = (candidate >= 0).any(axis=1)
        first = np.array([np.flatnonzero(s)[0] for s in seen], int)
        last = np.array([np.flatnonzero(s)[-1] for s in seen], int)
        return PeopleTracks(
            candidate=candidate, swapped=swapped, center=center, first_frame=first, last_frame=last,
            frames_seen=seen.sum(1), n_unassigned=unassigned, camera_names=tuple(self.rig.names), fps=self.fps,
        )


def stitch(first: np.ndarray, last: np.ndarray, first_pos: np.ndarray, last_pos: np.ndarray,
           signature: np.ndarray, frames_seen: np.ndarray, fps: float,
           config: TrackingConfig = TrackingConfig(), across: np.ndarray | None = None,
           max_people: int | None = None) -> list[list[int]]:
    """Link pieces of track that are one person, seen apart in time (steps 6-8 of the module doc).

    Args:
        first, last: ``(T,)`` first and last frame of each piece; ordered by ``first``.
        first_pos, last_pos: ``(T, 3)`` centre at those frames, metres.
        signature: ``(T, B)`` median bone lengths (NaN where unknown).
        frames_seen: ``(T,)`` frames each piece was seen.
        fps: frame rate.
        config: ``gate``, ``max_speed``, ``signature_gate``, ``signature_weight``.
        across: ``(3, 3)`` projection onto the floor plane for distances (default: 3D distances).
        max_people: most people (None: no limit).

    Returns:
        The people as lists of piece indices in time order, ordered by first frame; at most
        ``max_people`` of them (the pieces left out are the least seen).
    """
    n = len(first)
    after = last[:, None] < first[None, :]  # (a, b): b starts after a ended
    gap = (first[None, :] - last[:, None]) / fps
    across = np.eye(3) if across is None else across
    dist = np.linalg.norm((first_pos[None, :] - last_pos[:, None]) @ across, axis=-1)
    reach = config.gate + config.max_speed * np.maximum(gap, 0.0)
    sd = signature_distance(signature, signature) if signature.shape[1] else np.full((n, n), np.nan)
    known = np.isfinite(sd)
    sig_cost = np.where(known, sd / config.signature_gate, 0.0)
    fits = after & (dist <= reach) & (~known | (sd <= config.signature_gate))
    nxt = np.full(n, -1)
    prv = np.full(n, -1)
    _link(np.where(fits, dist / np.maximum(reach, 1e-9) + config.signature_weight * sig_cost, np.inf), nxt, prv)
    if max_people is not None:  # fewer people allowed: link on bone lengths, then distance
        excess = n - int((nxt >= 0).sum()) - max_people
        if excess > 0:
            _link(np.where(after, sig_cost + dist / np.maximum(reach, 1e-9) * 1e-3, np.inf), nxt, prv, excess)
    chains = []
    for a in np.flatnonzero(prv < 0):
        chain = [int(a)]
        while nxt[chain[-1]] >= 0:
            chain.append(int(nxt[chain[-1]]))
        chains.append(chain)
    if max_people is not None and len(chains) > max_people:
        chains.sort(key=lambda c: -int(frames_seen[c].sum()))
        chains = chains[:max_people]
    chains.sort(key=lambda c: (first[c[0]], c[0]))
    return chains


def _link(cost: np.ndarray, nxt: np.ndarray, prv: np.ndarray, limit: int | None = None) -> None:
    """Greedily link ``a -> b`` by increasing ``cost (a, b)`` (inf = never), one successor and one
    predecessor each, without cycles; at most ``limit`` links. Updates ``nxt`` and ``prv``."""
    order = np.argsort(cost, axis=None)
    made = 0
    for flat in order:
        a, b = np.unravel_index(flat, cost.shape)
        if not np.isfinite(cost[a, b]) or (limit is not None and made >= limit):
            return
        if nxt[a] >= 0 or prv[b] >= 0:
            continue
        nxt[a], prv[b] = b, a
        made += 1


def track_people(rig: CameraRig, xy: np.ndarray, conf: np.ndarray, fps: float,
                 config: TrackingConfig = TrackingConfig(), *, bones=None, mirror: tuple[int, ...] | None = None,
                 max_people: int | None = None) -> PeopleTracks:
    """Associate and track every frame of a take.

    Args:
        rig: the ``C`` calibrated cameras.
        xy: ``(C, F, P, J, 2)`` candidates per camera and frame, video pixels, padded with NaN slots.
        conf: ``(C, F, P, J)`` confidence.
        fps: frame rate.
        config: tracking settings.
        bones, mirror, max_people: see :class:`PeopleTracker`.

    Returns:
        :class:`PeopleTracks`.
    """
    xy = np.asarray(xy)
    conf = np.asarray(conf)
    if xy.ndim != 5 or xy.shape[-1] != 2 or conf.shape != xy.shape[:-1] or xy.shape[0] != len(rig):
        raise MocapError(
            f"candidates must be xy (C, F, P, J, 2) and conf (C, F, P, J) with C = {len(rig)} cameras, "
            f"got {xy.shape} and {conf.shape}",
            fix="stack every camera's per-frame candidates, padded to the same number of slots with NaN",
        )
    tracker = PeopleTracker(rig, fps, config, bones=bones, mirror=mirror, max_people=max_people)
    for f in range(xy.shape[1]):
        tracker.update(xy[:, f], conf[:, f])
    return tracker.result()
