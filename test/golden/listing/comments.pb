<!-- A file-level comment before the agent. -->
# Commenter
An agent <!-- inline comment --> with comments.

## Main
### Steps
- $x = 1 <!-- trailing comment -->
<!--
  A multi-line comment
  - This bullet is commented out
-->
- $y = $x + 1
- Say "{$x} and {$y}" <!-- another -->
