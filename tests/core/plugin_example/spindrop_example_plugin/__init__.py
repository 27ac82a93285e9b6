"""An example third-party spindrop method package, installed for the core tests only.

Its ``*.dist-info/entry_points.txt`` declares the module below in the group
``spindrop.methods``; with this folder on ``sys.path`` ``importlib.metadata`` sees it exactly
as it sees a pip-installed package.
"""
