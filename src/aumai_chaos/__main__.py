"""``python -m aumai_chaos``: the ``aumai-chaos`` command."""

from aumai_chaos.cli import main

if __name__ == "__main__":
    main()
