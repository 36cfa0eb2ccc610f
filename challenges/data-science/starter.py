import csv
from collections import defaultdict

sessions = defaultdict(list)
with open("events.csv") as handle:
    for row in csv.DictReader(handle):
        sessions[row["user"]].append((int(row["day"]), int(row["sessions"])))

# your analysis here
print({user: len(days) for user, days in sessions.items()})
