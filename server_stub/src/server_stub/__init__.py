"""A QuestDB-faithful ILP/TCP challenge/response server stub that explains every verdict."""
