"""The picture-queue benchmark (`bench/draw.py`): each request's record and the queue's limits and order checked
from it, the world of servers and users that sends the requests, the processes around the bot, the report."""
