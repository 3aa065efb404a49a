from monitoring.exporter import main

main()
