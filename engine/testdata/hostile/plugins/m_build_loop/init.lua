-- Never finishes building a state.
return { name = "m_build_loop", version = "1.0.0", initialize = function() while true do end end }
