# Checks PowerShell script bodies for constructs that Windows PowerShell 5.1 lacks or runs differently.
# Parses each body with PowerShell's own parser and walks the AST against the rules in rules.json.
# Input: -RequestFile <json> with { rules: [...], scripts: [ { name, path } | { name, text } ] }.
# Output: one JSON document on stdout: { checked: <n>, findings: [ { script, rule, line, column, text } ] }.
# Runs on pwsh 7 (the parser must know the 7-only syntax to find it).
param([Parameter(Mandatory = $true)][string]$RequestFile)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2
$request = Get-Content -LiteralPath $RequestFile -Raw -Encoding utf8 | ConvertFrom-Json
$L = 'System.Management.Automation.Language'
# A construct inside an if-clause whose condition asks for the PowerShell version or edition (or for the
# parameter / command itself) only runs where it exists.
$versionGuard = '\$PSVersionTable\.PS(Version|Edition)|\$IsCoreCLR'

function Test-Guarded([System.Management.Automation.Language.Ast]$Node, [string]$Extra) {
  $pattern = $versionGuard
  if ($Extra) { $pattern = "$pattern|$Extra" }
  $child = $Node
  $parent = $Node.Parent
  while ($null -ne $parent) {
    if ($parent -is [System.Management.Automation.Language.IfStatementAst]) {
      foreach ($clause in $parent.Clauses) {
        if ($clause.Item1.Extent.Text -match $pattern) { return $true }
      }
    }
    if ($parent -is [System.Management.Automation.Language.BinaryExpressionAst] -and $parent.Operator -in 'And', 'Or') {
      if ($parent.Left.Extent.Text -match $pattern) { return $true }
    }
    $child = $parent
    $parent = $parent.Parent
  }
  return $false
}

function Get-ParameterArgument([System.Management.Automation.Language.CommandAst]$Command, [int]$Index) {
  $p = $Command.CommandElements[$Index]
  if ($null -ne $p.Argument) { return $p.Argument }
  if ($Index + 1 -lt $Command.CommandElements.Count) {
    $next = $Command.CommandElements[$Index + 1]
    if ($next -isnot [System.Management.Automation.Language.CommandParameterAst]) { return $next }
  }
  return $null
}

# The full name only: a prefix may name another parameter that 5.1 has (Select-Object -Skip, not -SkipIndex).
function Test-ParameterName([string]$Typed, [string[]]$Names) {
  foreach ($n in $Names) { if ($Typed -ieq $n) { return $true } }
  return $false
}

# $Nodes: every node of one script (walked once); $Commands: its CommandAsts. Rule tests are compiled once.
$tests = @{}
$types = @{}
foreach ($rule in $request.rules) {
  if ($rule.kind -eq 'ast') {
    $types[$rule.id] = [type]"$L.$($rule.node)"
    if ($rule.PSObject.Properties['test']) { $tests[$rule.id] = [ScriptBlock]::Create('param($node) ' + $rule.test) }
  }
}

function Find-Rule($Rule, [object[]]$Nodes, [object[]]$Commands) {
  $hits = New-Object 'System.Collections.Generic.List[object]'
  switch ($Rule.kind) {
    'ast' {
      $type = $types[$Rule.id]
      $test = $tests[$Rule.id]
      foreach ($n in $Nodes) {
        if ($n -is $type -and ($null -eq $test -or (& $test $n))) { $hits.Add($n) }
      }
    }
    'command' {
      foreach ($c in $Commands) {
        $name = $c.GetCommandName()
        if ($name -and ($Rule.commands -contains $name)) {
          $guard = '(Get-Command|Get-Module)\b[^\r\n]*\b(' + ((@($Rule.commands) | ForEach-Object { [regex]::Escape($_) }) -join '|') + ')'
          if (-not (Test-Guarded $c $guard)) { $hits.Add($c) }
        }
      }
    }
    'parameter' {
      foreach ($c in $Commands) {
        $name = $c.GetCommandName()
        if (-not $name -or -not ($Rule.commands -contains $name)) { continue }
        for ($i = 1; $i -lt $c.CommandElements.Count; $i++) {
          $p = $c.CommandElements[$i]
          if ($p -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
          if (-not (Test-ParameterName $p.ParameterName @($Rule.parameters))) { continue }
          if ($Rule.PSObject.Properties['values']) {
            $arg = Get-ParameterArgument $c $i
            if ($null -eq $arg -or -not ($Rule.values -contains ([string]$arg.Extent.Text).Trim("'", '"'))) { continue }
          }
          $guard = 'Parameters\.ContainsKey\(\s*[''"](' + (@($Rule.parameters) -join '|') + ')[''"]\s*\)'
          if (-not (Test-Guarded $p $guard)) { $hits.Add($p) }
        }
      }
    }
    'missingParameter' {
      foreach ($c in $Commands) {
        $name = $c.GetCommandName()
        if (-not $name -or -not ($Rule.commands -contains $name)) { continue }
        $has = $false
        foreach ($e in $c.CommandElements) {
          if ($e -is [System.Management.Automation.Language.CommandParameterAst] -and (Test-ParameterName $e.ParameterName @($Rule.parameters))) { $has = $true }
        }
        if (-not $has) { $hits.Add($c) }
      }
    }
    'variable' {
      foreach ($v in $Nodes) {
        if ($v -isnot [System.Management.Automation.Language.VariableExpressionAst]) { continue }
        if ($v.Parent -is [System.Management.Automation.Language.AssignmentStatementAst] -and $v.Parent.Left -eq $v) { continue }
        if ($Rule.variables -contains $v.VariablePath.UserPath -and -not (Test-Guarded $v '')) { $hits.Add($v) }
      }
    }
    default { throw "rules.json: unknown rule kind '$($Rule.kind)' in rule '$($Rule.id)'" }
  }
  return , $hits
}

$findings = New-Object 'System.Collections.Generic.List[object]'
$checked = 0
foreach ($s in $request.scripts) {
  if ($s.PSObject.Properties['path'] -and $s.path) { $text = [IO.File]::ReadAllText($s.path) } else { $text = [string]$s.text }
  $tokens = $null
  $errors = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$tokens, [ref]$errors)
  $checked++
  foreach ($e in $errors) {
    $findings.Add([ordered]@{ script = $s.name; rule = 'parse-error'; line = $e.Extent.StartLineNumber; column = $e.Extent.StartColumnNumber; text = $e.Message })
  }
  $nodes = @($ast.FindAll({ $true }, $true))
  $commands = @(foreach ($n in $nodes) { if ($n -is [System.Management.Automation.Language.CommandAst]) { $n } })
  foreach ($rule in $request.rules) {
    foreach ($hit in (Find-Rule $rule $nodes $commands)) {
      $snippet = ($hit.Extent.Text -split "`n")[0]
      if ($snippet.Length -gt 120) { $snippet = $snippet.Substring(0, 120) }
      $findings.Add([ordered]@{ script = $s.name; rule = $rule.id; line = $hit.Extent.StartLineNumber; column = $hit.Extent.StartColumnNumber; text = $snippet.Trim() })
    }
  }
}
[Console]::Out.Write((ConvertTo-Json -InputObject ([ordered]@{ checked = $checked; findings = $findings.ToArray() }) -Depth 5 -Compress))
