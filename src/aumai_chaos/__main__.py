"""``python -m aumai_chaos``: the ``aumai-chaos`` command."""

from .cli import main

if __name__ == "__main__":
    main()
