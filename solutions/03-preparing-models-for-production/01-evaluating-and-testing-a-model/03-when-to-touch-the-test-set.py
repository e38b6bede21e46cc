answer = 4
