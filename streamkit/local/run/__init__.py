"""``streamkit run``: the main job on one machine (engine, exactly-once reference, report)."""
