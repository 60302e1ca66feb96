return require("attacker.circ_a")
