"""``python -m aumai_chaos.cli``: the ``aumai-chaos`` command."""

from aumai_chaos.cli.commands import main

if __name__ == "__main__":
    main()
