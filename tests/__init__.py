"""The aumai-chaos test suite (a package, so that modules can share ``tests.helpers``)."""
