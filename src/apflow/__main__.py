from apflow.cli.app import main

main()
