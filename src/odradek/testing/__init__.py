"""Testing support: the pytest plugin (`pytest_plugin`, registered through the `pytest11` entry
point, so `pip install odradek` is all a project needs) and fault injection (`faults`).

Nothing is imported here: pytest loads the plugin in every run, and it must stay light."""
