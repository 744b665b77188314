"""Reading what one expects: allowed characters and patterns decoded into the CTC search."""

from .automaton import Automaton, Bound, bind, can_match
from .beam import Match, search
from .constraint import Constraint, Reading
from .patterns import BUILTINS, PatternError, compile_pattern

__all__ = [
    "BUILTINS",
    "Automaton",
    "Bound",
    "Constraint",
    "Match",
    "PatternError",
    "Reading",
    "bind",
    "can_match",
    "compile_pattern",
    "search",
]
