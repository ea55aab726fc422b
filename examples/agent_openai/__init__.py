"""A small tool-calling agent on the real ``openai`` client, to run chaos experiments against.

- :mod:`.tools`: its two tools, a calculator and a document search over a small local vector
  index (bag-of-words cosine, plain Python; the search is the ``vector_db`` component);
- :mod:`.agent`: the agent loop, with the resilience a careful team gives it
  (:data:`~.agent.ROBUST`) or without it (:data:`~.agent.FRAGILE`);
- :mod:`.workload`: the entry points that experiment files name, ``run_robust`` and
  ``run_fragile``;
- :mod:`.demo`: ``make demo``: a scripted model server on loopback, then both experiments.

Nothing here needs a network or an API key: the model is
:class:`aumai_chaos.testing.ProviderServer`, found through ``OPENAI_BASE_URL``.
"""
