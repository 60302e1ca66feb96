-- Never returns: the load must end at the deadline, not block the start.
while true do end
