"""Export and retargeting: skeleton animations, BVH/FBX/glTF/AMASS writers, rig presets."""
