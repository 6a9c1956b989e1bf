"""Camera calibration from ChArUco board footage.

``board``       board definitions (TOML) and printable boards
``detect``      fast ChArUco detection over whole videos, both cores
``select``      frame selection for coverage
``intrinsics``  per-camera K and distortion (pinhole and fisheye)
``extrinsics``  initial camera poses from shared board views
``bundle``      sparse bundle adjustment over cameras and board poses
``world``       metric, upright world frame (floor and origin from the board)
``quality``     reprojection / square-length / coverage report and the quality gate
``pipeline``    ``calibrate_session``: the whole stage
``formats``     import/export of anipose, FreeMoCap, Pose2Sim, caliscope and Qualisys files
"""
