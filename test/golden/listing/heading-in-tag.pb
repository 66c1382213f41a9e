# Synthesizer
Writes the final answer.

## SynthesizeAnswer($question)
public: true
execution_mode: react

Synthesize an answer for: {$question}

<answer_architecture>
Structure as:

# Direct Answer
[2-3 sentence clear response]

## Core Logic
[Main reasoning]

### Caveats
[What we are uncertain about]
</answer_architecture>

## ExtractKeyInsights($reasoning)
public: true
### Steps
- Return a list of the key insights in $reasoning

# Archivist
Keeps sessions.

## Main
### Triggers
- At the beginning
### Steps
- $a = Synthesizer.SynthesizeAnswer("why is the sky blue?")
- Say $a
