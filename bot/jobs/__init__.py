"""Background work run by RQ workers: pushes, the conversation log, periodic chores."""
