"""Body fitting: SMPL-X parameters for a whole take from triangulated 3D keypoints."""
