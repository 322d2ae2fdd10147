"""Local tooling: never imported by a Lambda handler."""
