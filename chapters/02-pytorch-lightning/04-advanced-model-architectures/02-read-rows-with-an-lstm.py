class RowLSTM(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        # Each row (32 pixels x 3 colours) is one time step
        self.lstm = nn.LSTM(input_size=____, hidden_size=hidden, batch_first=____)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):
        rows = x.permute(0, 2, 1, 3).reshape(x.shape[0], 32, 96)
        out, _ = self.lstm(rows)
        # Classify from the output after the last row
        return self.head(out[:, ____])


rnn = RowLSTM()
