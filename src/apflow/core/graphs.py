"""Graph algorithms shared by the engine's pre-run checks and the spec validator."""

from __future__ import annotations


def strongly_connected(edges: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of ``edges`` (node -> nodes it points at).

    Tarjan's algorithm without recursion, so a 10,000-long chain is fine. Every node
    of ``edges`` is in exactly one component; a component of two or more is a cycle.
    """
    counter = 0
    low: dict[str, int] = {}
    number: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in edges:
        if root in number:
            continue
        work = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                number[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if pos < len(targets):
                work.append((node, pos + 1))
                nxt = targets[pos]
                if nxt not in number:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], number[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == number[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components
