"""Body model side of the pipeline: the SMPL-X skeleton, the `BodyMotion` stage output, forward kinematics."""
