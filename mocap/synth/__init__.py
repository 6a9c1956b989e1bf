"""Synthetic sessions with known answers (virtual cameras, rendered boards, ground truth)."""
