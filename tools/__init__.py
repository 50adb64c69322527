"""Tools beside the running system: the simulator, scenario files, replay, evaluate and the rules' dry run."""
