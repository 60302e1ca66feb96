error(setmetatable({}, { __tostring = function() error("tostring boom") end }))
