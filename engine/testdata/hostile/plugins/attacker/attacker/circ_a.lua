return require("attacker.circ_b")
