"""Errors against ground truth: the metrics (:mod:`~mocap.evaluation.metrics`) and a synthetic session's
known answers with the pipeline's errors against them (:mod:`~mocap.evaluation.ground_truth`)."""
